{{BANNER}}
#include "greta_prelude.h"

using namespace greta;

{{CONSTANTS}}

{{PARAMS}}

//===--- rms_norm: out = x / sqrt(mean(x²) + eps) * weight ---===//
// One block per row. The sum of squares accumulates in double (as the CPU backend and ggml
// do); out may alias x, since every x is read before the barrier of the reduction.
GRETA_KERNEL(kBlock) {{ENTRY}}(const Params p) {
  wait_for_producers();
  __shared__ double scratch[kBlock / kWarpSize];
  const int s = blockIdx.x;
  if (s >= p.rows)
    return;
  const float *x = p.x + static_cast<i64>(s) * kDim;
  float *out = p.out + static_cast<i64>(s) * kDim;
  double sumSquares = 0.0;
  for (int i = threadIdx.x; i < kDim; i += kBlock)
    sumSquares += static_cast<double>(x[i]) * x[i];
  sumSquares = block_reduce_sum<kBlock>(sumSquares, scratch);
  const float mean = static_cast<float>(sumSquares / kDim);
  const float invRms = 1.0f / sqrtf(mean + kEps);
  for (int i = threadIdx.x; i < kDim; i += kBlock)
    out[i] = x[i] * invRms * p.weight[i];
}
