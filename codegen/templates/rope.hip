{{BANNER}}
#include "greta_prelude.h"

using namespace greta;

{{CONSTANTS}}

{{PARAMS}}

{{> common/rope}}

//===--- rope: rotates x in place, pair i of every head by positions[s] · frequency i ---===//
// One block per row; a thread per frequency computes its angle once and rotates that pair in
// every head.
static_assert(kHeadDim % 2 == 0, "RoPE rotates pairs");

GRETA_KERNEL(kBlock) {{ENTRY}}(const Params p) {
  const int s = blockIdx.x;
  if (s >= p.rows)
    return;
  float *row = p.x + static_cast<i64>(s) * kHeads * kHeadDim;
  const int position = p.positions[s];
  for (int i = threadIdx.x; i < kHeadDim / 2; i += kBlock) {
    float cosine, sine;
    rope_rotation(p.freqs, i, position, cosine, sine);
    rope_rotate_pair(row, kHeads, i, cosine, sine);
  }
}
