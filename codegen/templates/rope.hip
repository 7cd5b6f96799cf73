{{BANNER}}
#include "greta_prelude.h"

using namespace greta;

{{CONSTANTS}}

{{PARAMS}}

{{> common/kv_cache}}

{{> common/rope}}

//===--- rope: rotates x in place, pair i of every head by positions[s] · frequency i ---===//
// One block per row: the block computes the row's rotations once (shared memory), then its
// threads rotate the pairs of every head.
static_assert(kHeadDim % 2 == 0, "RoPE rotates pairs");

GRETA_KERNEL(kBlock) {{ENTRY}}(const Params p) {
  wait_for_producers();
  __shared__ float2 rotation[kHeadDim / 2];
  const int s = blockIdx.x;
  if (s >= p.rows)
    return;
  rope_fill_rotations(p.freqs, p.positions[s], rotation);
  rope_rotate_heads(p.x + static_cast<i64>(s) * kHeads * kHeadDim, kHeads, rotation,
                    static_cast<float *>(nullptr));
}
