{{BANNER}}
#include "greta_prelude.h"

using namespace greta;

{{CONSTANTS}}

{{PARAMS}}

{{BODIES}}

//===--- cast_f16: out[s] = binary16(prologue(x[s])) ---===//
// The input of the products on binary16 weights (matmul_mma_f16), made once per row: with the
// prologue applied here, a gemm block copies its input tiles as they are instead of normalising
// and converting its rows for every tile of output columns. One block per row; the sum of
// squares of the fused RMSNorm accumulates in double, as rms_norm and the CPU backend do.
static_assert(kK % 4 == 0, "rows are whole float4s");

GRETA_KERNEL(kBlock) {{ENTRY}}(const Params p) {
  wait_for_producers();
  const int s = blockIdx.x;
  if (s >= p.rows)
    return;
  const float4 *x = reinterpret_cast<const float4 *>(p.x + static_cast<i64>(s) * kK);
  uint2 *out = reinterpret_cast<uint2 *>(p.out + static_cast<i64>(s) * kK);
{{#PROLOGUE}}
  __shared__ double scratch[kBlock / kWarpSize];
  double sumSquares = 0.0;
  for (int i = threadIdx.x; i < kK / 4; i += kBlock) {
    const float4 v = x[i];
    sumSquares += static_cast<double>(v.x) * v.x + static_cast<double>(v.y) * v.y +
                  static_cast<double>(v.z) * v.z + static_cast<double>(v.w) * v.w;
  }
  sumSquares = block_reduce_sum<kBlock>(sumSquares, scratch);
  const float invRms = 1.0f / sqrtf(static_cast<float>(sumSquares / kK) + kEps);
  const float4 *gamma = reinterpret_cast<const float4 *>(p.norm);
{{/PROLOGUE}}
  for (int i = threadIdx.x; i < kK / 4; i += kBlock) {
    float4 v = x[i];
{{#PROLOGUE}}
    const float4 g = gamma[i];
    v = make_float4(prologue(v.x, g.x, invRms), prologue(v.y, g.y, invRms),
                    prologue(v.z, g.z, invRms), prologue(v.w, g.w, invRms));
{{/PROLOGUE}}
    out[i] = make_uint2(pack_f16x2(v.x, v.y), pack_f16x2(v.z, v.w));
  }
}
