{{BANNER}}
#include "greta_prelude.h"

using namespace greta;

{{CONSTANTS}}

{{PARAMS}}

{{> common/kv_cache}}

{{> common/rope}}

//===--- rope_kv_append: rope(q), rope(k) in place, then k and v into the caches ---===//
// One block per row and KV head g (grid: rows x kKVHeads): the block computes the row's
// rotations (shared memory), then its threads rotate the pairs of g's query heads and of key
// head g, storing the rotated key in the cache row positions[s], and copy value head g. Every
// block of a row computes the same table: a decode step's one row then runs on kKVHeads
// compute units at once (one block rotating every head took 7 µs on an H200, most of it in
// turn-by-turn loads). A position outside [0, ctx) rotates but writes no cache row (the CPU
// backend refuses it).
static_assert(kHeadDim % 2 == 0, "RoPE rotates pairs");
static_assert(kHeads % kKVHeads == 0, "grouped-query attention");
constexpr int kKVCols = kKVHeads * kHeadDim;
constexpr int kQueriesPerKVHead = kHeads / kKVHeads;

GRETA_KERNEL(kBlock) {{ENTRY}}(const Params p) {
  wait_for_producers();
  __shared__ float2 rotation[kHeadDim / 2];
  const int s = blockIdx.x;
  const int g = blockIdx.y; // KV head
  if (s >= p.rows)
    return;
  const int position = p.positions[s];
  const bool stores = position >= 0 && position < p.ctx;
  rope_fill_rotations(p.freqs, position, rotation);
  const i64 kvAt = static_cast<i64>(g) * kHeadDim; // head g within a K or V row
  rope_rotate_heads(p.q + (static_cast<i64>(s) * kHeads + g * kQueriesPerKVHead) * kHeadDim,
                    kQueriesPerKVHead, rotation, static_cast<float *>(nullptr));
  rope_rotate_heads(p.k + static_cast<i64>(s) * kKVCols + kvAt, 1, rotation,
                    stores ? p.k_cache + static_cast<i64>(position) * kKVCols + kvAt : nullptr);
  if (!stores)
    return;
  const float4 *v = reinterpret_cast<const float4 *>(p.v + static_cast<i64>(s) * kKVCols + kvAt);
  KVValue *vCache = p.v_cache + static_cast<i64>(position) * kKVCols + kvAt;
  static_assert(kHeadDim % 4 == 0, "a value head copies as float4s");
  for (int i = threadIdx.x; i < kHeadDim / 4; i += kBlock)
    kv_store4(vCache + 4 * i, v[i]);
}
