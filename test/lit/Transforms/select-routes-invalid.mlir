// RUN: greta-opt %s --split-input-file --greta-select-routes -verify-diagnostics
// RUN: not greta-opt %s --greta-select-routes=force-route=lm_head=mfma 2>&1 | FileCheck %s --check-prefix=BAD-ROUTE
// RUN: not greta-opt %s --greta-select-routes=force-route=attention=gemv 2>&1 | FileCheck %s --check-prefix=BAD-OP
// RUN: not greta-opt %s --greta-select-routes=force-route=lm_head.verify=gemv 2>&1 | FileCheck %s --check-prefix=BAD-PHASE
// RUN: not greta-opt %s --greta-select-routes=force-route=lm_head 2>&1 | FileCheck %s --check-prefix=NO-ROUTE
// RUN: not greta-opt %s --greta-select-routes=fp16-weights=norms 2>&1 | FileCheck %s --check-prefix=BAD-CLASS
// RUN: not greta-opt %s --greta-select-routes=kv-cache-dtype=bf16 2>&1 | FileCheck %s --check-prefix=BAD-KV

// Tests that force-route entries with an unknown route, op or phase, or without a route, are
// refused with the entry named and the valid spellings listed.
// BAD-ROUTE: error: greta-select-routes: force-route entry 'lm_head=mfma' is not OP=ROUTE or OP.PHASE=ROUTE (OP: matmul, lm_head; PHASE: prefill, decode; ROUTE: gemv, gemm)
// BAD-OP: error: greta-select-routes: force-route entry 'attention=gemv' is not OP=ROUTE
// BAD-PHASE: error: greta-select-routes: force-route entry 'lm_head.verify=gemv' is not OP=ROUTE
// NO-ROUTE: error: greta-select-routes: force-route entry 'lm_head' is not OP=ROUTE

// Tests that an unknown fp16-weights class is refused.
// BAD-CLASS: error: greta-select-routes: fp16-weights class 'norms' is not one of lm_head, embeddings, all

// Tests that a KV cache element type the kernels do not store is refused.
// BAD-KV: error: greta-select-routes: kv-cache-dtype 'bf16' is not one of f32, f16

greta.weight @w : !greta.weight<64x64, q8_0> {gguf_name = "w.weight"}
// Tests that matrix products in a function without a phase are refused: routes are per phase.
func.func @forward(%x: tensor<?x64xf32>) -> tensor<?x64xf32> {
  // expected-error@+1 {{is in @forward, which has no greta.phase: routes are chosen per phase (run greta-specialize-phases first)}}
  %y = greta.matmul %x, @w : tensor<?x64xf32> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}
