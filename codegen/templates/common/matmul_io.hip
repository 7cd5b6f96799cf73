/// Input value k of a row of x, as the product reads it: with the fused prologue applied.
__device__ __forceinline__ float input_at(const Params &p, const float *x, int k, float invRms) {
{{#PROLOGUE}}
  return prologue(x[k], p.norm[k], invRms);
{{/PROLOGUE}}
{{^PROLOGUE}}
  return x[k];
{{/PROLOGUE}}
}

/// Writes output (s, n) from its accumulator(s), through the fused epilogue.
{{#GATE_UP}}
__device__ __forceinline__ void store_output(const Params &p, int s, int n, float gate, float up) {
  p.out[static_cast<i64>(s) * kN + n] = epilogue(gate, up);
}
{{/GATE_UP}}
{{#RESIDUAL}}
__device__ __forceinline__ void store_output(const Params &p, int s, int n, float acc) {
  const i64 at = static_cast<i64>(s) * kN + n;
  p.out[at] = epilogue(acc, p.residual[at]);
}
{{/RESIDUAL}}
{{#PLAIN_OUTPUT}}
__device__ __forceinline__ void store_output(const Params &p, int s, int n, float acc) {
  p.out[static_cast<i64>(s) * kN + n] = acc;
}
{{/PLAIN_OUTPUT}}
