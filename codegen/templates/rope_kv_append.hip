{{BANNER}}
#include "greta_prelude.h"

using namespace greta;

{{CONSTANTS}}

{{PARAMS}}

{{> common/rope}}

//===--- rope_kv_append: rope(q), rope(k) in place, then k and v into the caches ---===//
// One block per row. A thread per frequency rotates that pair in every query and key head
// and stores the rotated keys in the cache row positions[s]; then the block copies v. A
// position outside [0, ctx) rotates but writes no cache row (the CPU backend refuses it).
static_assert(kHeadDim % 2 == 0, "RoPE rotates pairs");
static_assert(kHeads % kKVHeads == 0, "grouped-query attention");
constexpr int kKVCols = kKVHeads * kHeadDim;

GRETA_KERNEL(kBlock) {{ENTRY}}(const Params p) {
  const int s = blockIdx.x;
  if (s >= p.rows)
    return;
  const int position = p.positions[s];
  const bool stores = position >= 0 && position < p.ctx;
  float *q = p.q + static_cast<i64>(s) * kHeads * kHeadDim;
  float *k = p.k + static_cast<i64>(s) * kKVCols;
  float *kCache = p.k_cache + static_cast<i64>(position) * kKVCols;
  for (int i = threadIdx.x; i < kHeadDim / 2; i += kBlock) {
    float cosine, sine;
    rope_rotation(p.freqs, i, position, cosine, sine);
    rope_rotate_pair(q, kHeads, i, cosine, sine);
    rope_rotate_pair(k, kKVHeads, i, cosine, sine);
    if (stores)
      for (int h = 0; h < kKVHeads; ++h) {
        kCache[h * kHeadDim + 2 * i] = k[h * kHeadDim + 2 * i];
        kCache[h * kHeadDim + 2 * i + 1] = k[h * kHeadDim + 2 * i + 1];
      }
  }
  if (!stores)
    return;
  const float *v = p.v + static_cast<i64>(s) * kKVCols;
  float *vCache = p.v_cache + static_cast<i64>(position) * kKVCols;
  for (int i = threadIdx.x; i < kKVCols; i += kBlock)
    vCache[i] = v[i];
}
