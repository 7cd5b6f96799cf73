{{BANNER}}
#include "greta_prelude.h"

using namespace greta;

{{CONSTANTS}}

{{PARAMS}}

//===--- silu_mul: out = silu(gate) * up, silu(x) = x / (1 + exp(-x)) ---===//
// Grid: (ceil(kN / kBlock), rows). out may alias gate or up.
GRETA_KERNEL(kBlock) {{ENTRY}}(const Params p) {
  wait_for_producers();
  const int s = blockIdx.y;
  const int i = blockIdx.x * kBlock + threadIdx.x;
  if (s >= p.rows || i >= kN)
    return;
  const i64 at = static_cast<i64>(s) * kN + i;
  const float gate = p.gate[at];
  p.out[at] = gate / (1.0f + expf(-gate)) * p.up[at];
}
