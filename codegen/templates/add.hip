{{BANNER}}
#include "greta_prelude.h"

using namespace greta;

{{CONSTANTS}}

{{PARAMS}}

//===--- add: out = a + b ---===//
// Grid: (ceil(kN / kBlock), rows). out may alias a or b.
GRETA_KERNEL(kBlock) {{ENTRY}}(const Params p) {
  wait_for_producers();
  const int s = blockIdx.y;
  const int i = blockIdx.x * kBlock + threadIdx.x;
  if (s >= p.rows || i >= kN)
    return;
  const i64 at = static_cast<i64>(s) * kN + i;
  p.out[at] = p.a[at] + p.b[at];
}
