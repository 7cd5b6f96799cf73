// RUN: greta-opt %s --split-input-file --greta-select-routes | FileCheck %s --check-prefix=DEFAULT
// RUN: greta-opt %s --split-input-file --greta-select-routes=force-route=lm_head=gemm | FileCheck %s --check-prefix=LMGEMM
// RUN: greta-opt %s --split-input-file '--greta-select-routes=force-route=lm_head.prefill=gemm,matmul.decode=gemm' | FileCheck %s --check-prefix=PHASED
// RUN: greta-opt %s --split-input-file '--greta-select-routes=force-route=matmul=gemm,matmul.decode=gemv' | FileCheck %s --check-prefix=SPECIFIC
// RUN: greta-opt %s --split-input-file --greta-select-routes=fp16-weights=lm_head | FileCheck %s --check-prefix=FP16-LM
// RUN: greta-opt %s --split-input-file '--greta-select-routes=fp16-weights=embeddings' | FileCheck %s --check-prefix=FP16-EMB
// RUN: greta-opt %s --split-input-file --greta-select-routes=fp16-weights=all | FileCheck %s --check-prefix=FP16-ALL

module {
  greta.weight @token_embd : !greta.weight<64x256, q8_0> {gguf_name = "token_embd.weight"}
  greta.weight @w : !greta.weight<64x64, q8_0> {gguf_name = "blk.0.attn_q.weight"}
  greta.weight @norm : !greta.weight<64, f32> {gguf_name = "output_norm.weight"}
  greta.weight @output : !greta.weight<64x256, q8_0> {gguf_name = "output.weight"}

  // Tests that by default prefill's matmuls take the matrix-unit route (gemm), decode's the
  // vector route (gemv), and the LM head, one row in both phases, the vector route.
  // DEFAULT-LABEL: func.func @prefill
  // DEFAULT: greta.matmul %{{.*}}, @w rms_norm(@norm, eps = {{.*}}) route gemm
  // DEFAULT: greta.lm_head %{{.*}}, @output last_only route gemv
  // DEFAULT-LABEL: func.func @decode
  // DEFAULT: greta.matmul %{{.*}}, @w rms_norm(@norm, eps = {{.*}}) route gemv
  // DEFAULT: greta.lm_head %{{.*}}, @output route gemv

  // Tests that lm_head=gemm forces the LM head of both phases and leaves the matmuls alone.
  // LMGEMM-LABEL: func.func @prefill
  // LMGEMM: greta.matmul {{.*}} route gemm
  // LMGEMM: greta.lm_head {{.*}} last_only route gemm
  // LMGEMM-LABEL: func.func @decode
  // LMGEMM: greta.matmul {{.*}} route gemv
  // LMGEMM: greta.lm_head {{.*}} route gemm

  // Tests that OP.PHASE entries force one phase only.
  // PHASED-LABEL: func.func @prefill
  // PHASED: greta.matmul {{.*}} route gemm
  // PHASED: greta.lm_head {{.*}} last_only route gemm
  // PHASED-LABEL: func.func @decode
  // PHASED: greta.matmul {{.*}} route gemm
  // PHASED: greta.lm_head {{.*}} route gemv

  // Tests that a phase-specific entry wins over a general one, whatever their order.
  // SPECIFIC-LABEL: func.func @prefill
  // SPECIFIC: greta.matmul {{.*}} route gemm
  // SPECIFIC-LABEL: func.func @decode
  // SPECIFIC: greta.matmul {{.*}} route gemv

  // Tests the weight policies: lm_head marks the LM head's weight fp16, embeddings the token
  // embedding, all every matrix (never the norm vectors); without the option nothing is marked.
  // DEFAULT-NOT: policy
  // FP16-LM: greta.weight @token_embd : !greta.weight<64x256, q8_0> {gguf_name = "token_embd.weight"}
  // FP16-LM-NEXT: greta.weight @w : !greta.weight<64x64, q8_0> {gguf_name = "blk.0.attn_q.weight"}
  // FP16-LM-NEXT: greta.weight @norm
  // FP16-LM-NEXT: greta.weight @output : !greta.weight<64x256, q8_0> {gguf_name = "output.weight", policy = #greta<policy fp16>}
  // FP16-EMB: greta.weight @token_embd : !greta.weight<64x256, q8_0> {gguf_name = "token_embd.weight", policy = #greta<policy fp16>}
  // FP16-EMB-NEXT: greta.weight @w : !greta.weight<64x64, q8_0> {gguf_name = "blk.0.attn_q.weight"}
  // FP16-EMB-NEXT: greta.weight @norm
  // FP16-EMB-NEXT: greta.weight @output : !greta.weight<64x256, q8_0> {gguf_name = "output.weight"}
  // FP16-ALL: greta.weight @token_embd : {{.*}}policy = #greta<policy fp16>
  // FP16-ALL-NEXT: greta.weight @w : {{.*}}policy = #greta<policy fp16>
  // FP16-ALL-NEXT: greta.weight @norm : !greta.weight<64, f32> {gguf_name = "output_norm.weight"}
  // FP16-ALL-NEXT: greta.weight @output : {{.*}}policy = #greta<policy fp16>
  func.func @prefill(%tokens: tensor<?xi32>) -> tensor<1x256xf32>
      attributes {greta.phase = #greta<phase prefill>} {
    %x = greta.embedding %tokens, @token_embd : tensor<?xi32> -> tensor<?x64xf32>
    %y = greta.matmul %x, @w rms_norm(@norm, eps = 1.0e-5) : tensor<?x64xf32> -> tensor<?x64xf32>
    %logits = greta.lm_head %y, @output last_only : tensor<?x64xf32> -> tensor<1x256xf32>
    return %logits : tensor<1x256xf32>
  }
  func.func @decode(%tokens: tensor<1xi32>) -> tensor<1x256xf32>
      attributes {greta.phase = #greta<phase decode>} {
    %x = greta.embedding %tokens, @token_embd : tensor<1xi32> -> tensor<1x64xf32>
    %y = greta.matmul %x, @w rms_norm(@norm, eps = 1.0e-5) : tensor<1x64xf32> -> tensor<1x64xf32>
    %logits = greta.lm_head %y, @output : tensor<1x64xf32> -> tensor<1x256xf32>
    return %logits : tensor<1x256xf32>
  }
}

// -----

// Tests that with tied embeddings the LM head's weight is the token embedding, so
// fp16-weights=lm_head marks it (and the embedding lookup reads the same fp16 table).
// DEFAULT-LABEL: func.func @tied
// FP16-LM: greta.weight @token_embd : !greta.weight<64x256, q8_0> {gguf_name = "token_embd.weight", policy = #greta<policy fp16>}
// FP16-LM-LABEL: func.func @tied
module {
  greta.weight @token_embd : !greta.weight<64x256, q8_0> {gguf_name = "token_embd.weight"}
  func.func @tied(%tokens: tensor<1xi32>) -> tensor<1x256xf32>
      attributes {greta.phase = #greta<phase decode>} {
    %x = greta.embedding %tokens, @token_embd : tensor<1xi32> -> tensor<1x64xf32>
    %logits = greta.lm_head %x, @token_embd : tensor<1x64xf32> -> tensor<1x256xf32>
    return %logits : tensor<1x256xf32>
  }
}

// -----

greta.weight @w : !greta.weight<64x64, q8_0> {gguf_name = "w.weight"}

// Tests that a route already in the IR is respected unless force-route names the op.
// DEFAULT-LABEL: func.func @chosen
// DEFAULT: greta.matmul %{{.*}}, @w route gemm : tensor<1x64xf32>
// LMGEMV-LABEL: func.func @chosen
// LMGEMV: greta.matmul %{{.*}}, @w route gemm : tensor<1x64xf32>
// SPECIFIC-LABEL: func.func @chosen
// SPECIFIC: greta.matmul %{{.*}}, @w route gemv : tensor<1x64xf32>
func.func @chosen(%x: tensor<1x64xf32>) -> tensor<1x64xf32>
    attributes {greta.phase = #greta<phase decode>} {
  %y = greta.matmul %x, @w route gemm : tensor<1x64xf32> -> tensor<1x64xf32>
  return %y : tensor<1x64xf32>
}

// Tests that a function without matrix products and without a phase is left alone.
// DEFAULT-LABEL: func.func @helper
// DEFAULT-NEXT: return
func.func @helper(%x: tensor<1x64xf32>) -> tensor<1x64xf32> {
  return %x : tensor<1x64xf32>
}
