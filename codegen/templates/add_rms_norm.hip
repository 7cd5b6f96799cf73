{{BANNER}}
#include "greta_prelude.h"

using namespace greta;

{{CONSTANTS}}

{{PARAMS}}

//===--- add_rms_norm: sum = a + b; out = rms_norm(sum) ---===//
// The residual add fused with the next RMSNorm: one block per row, one pass to add (and
// accumulate the squares, in double), one to normalise. sum may alias a or b: each thread
// reads and writes only its own elements of them.
GRETA_KERNEL(kBlock) {{ENTRY}}(const Params p) {
  wait_for_producers();
  __shared__ double scratch[kBlock / kWarpSize];
  const int s = blockIdx.x;
  if (s >= p.rows)
    return;
  const i64 base = static_cast<i64>(s) * kDim;
  double sumSquares = 0.0;
  for (int i = threadIdx.x; i < kDim; i += kBlock) {
    const float value = p.a[base + i] + p.b[base + i];
    p.sum[base + i] = value;
    sumSquares += static_cast<double>(value) * value;
  }
  sumSquares = block_reduce_sum<kBlock>(sumSquares, scratch);
  const float mean = static_cast<float>(sumSquares / kDim);
  const float invRms = 1.0f / sqrtf(mean + kEps);
  for (int i = threadIdx.x; i < kDim; i += kBlock)
    p.out[base + i] = p.sum[base + i] * invRms * p.weight[i];
}
