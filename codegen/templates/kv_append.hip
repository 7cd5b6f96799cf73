{{BANNER}}
#include "greta_prelude.h"

using namespace greta;

{{CONSTANTS}}

{{PARAMS}}

{{> common/kv_cache}}

//===--- kv_append: k_cache[positions[s]] = k[s], v_cache[positions[s]] = v[s] ---===//
// One block per row. A position outside [0, ctx) writes nothing (the CPU backend refuses it
// before running; the attention that reads the row then sees what was there).
constexpr int kKVCols = kKVHeads * kHeadDim;

GRETA_KERNEL(kBlock) {{ENTRY}}(const Params p) {
  wait_for_producers();
  const int s = blockIdx.x;
  if (s >= p.rows)
    return;
  const int position = p.positions[s];
  if (position < 0 || position >= p.ctx)
    return;
  const i64 from = static_cast<i64>(s) * kKVCols;
  const i64 to = static_cast<i64>(position) * kKVCols;
  for (int i = threadIdx.x; i < kKVCols; i += kBlock) {
    kv_store(p.k_cache + to + i, p.k[from + i]);
    kv_store(p.v_cache + to + i, p.v[from + i]);
  }
}
