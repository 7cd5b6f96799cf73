{{BANNER}}
#include "greta_prelude.h"

using namespace greta;

{{CONSTANTS}}

{{PARAMS}}

{{> common/rope}}

//===--- rope_kv_append: rope(q), rope(k) in place, then k and v into the caches ---===//
// One block per row: the block computes the row's rotations once (shared memory), then its
// threads rotate the pairs of every query and key head, storing the rotated keys in the cache
// row positions[s], and copy v. A position outside [0, ctx) rotates but writes no cache row
// (the CPU backend refuses it).
static_assert(kHeadDim % 2 == 0, "RoPE rotates pairs");
static_assert(kHeads % kKVHeads == 0, "grouped-query attention");
constexpr int kKVCols = kKVHeads * kHeadDim;

GRETA_KERNEL(kBlock) {{ENTRY}}(const Params p) {
  wait_for_producers();
  __shared__ float2 rotation[kHeadDim / 2];
  const int s = blockIdx.x;
  if (s >= p.rows)
    return;
  const int position = p.positions[s];
  const bool stores = position >= 0 && position < p.ctx;
  rope_fill_rotations(p.freqs, position, rotation);
  rope_rotate_heads(p.q + static_cast<i64>(s) * kHeads * kHeadDim, kHeads, rotation, nullptr);
  rope_rotate_heads(p.k + static_cast<i64>(s) * kKVCols, kKVHeads, rotation,
                    stores ? p.k_cache + static_cast<i64>(position) * kKVCols : nullptr);
  if (!stores)
    return;
  const float4 *v = reinterpret_cast<const float4 *>(p.v + static_cast<i64>(s) * kKVCols);
  float4 *vCache = reinterpret_cast<float4 *>(p.v_cache + static_cast<i64>(position) * kKVCols);
  static_assert(kKVCols % 4 == 0, "the value row copies as float4s");
  for (int i = threadIdx.x; i < kKVCols / 4; i += kBlock)
    vCache[i] = v[i];
}
