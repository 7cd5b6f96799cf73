// RUN: greta-opt %s --split-input-file --greta-insert-audit | FileCheck %s --check-prefixes=CHECK,DEFAULT
// RUN: greta-opt %s --split-input-file --greta-insert-audit=audit=all-layers | FileCheck %s --check-prefixes=CHECK,LAYERS
// RUN: greta-opt %s --split-input-file --greta-insert-audit=audit=none | FileCheck %s --check-prefix=NONE
// RUN: greta-opt %s --split-input-file --greta-insert-audit --greta-insert-audit | FileCheck %s --check-prefix=TWICE

// Two phases of a two-layer feed-forward-only model (attention is left out: the audit points
// do not depend on it).
module attributes {greta.model = #greta.model<layers = 2, dim = 64, heads = 4, kv_heads = 2,
    ffn = 128, vocab = 256, context = 128, rope_theta = 1.0e4, eps = 1.0e-5, tied = true>} {
  greta.weight @token_embd : !greta.weight<64x256, q8_0> {gguf_name = "token_embd.weight"}
  greta.weight @blk0_ffn_norm : !greta.weight<64, f32> {gguf_name = "blk.0.ffn_norm.weight"}
  greta.weight @blk0_ffn_gate : !greta.weight<64x128, q8_0> {gguf_name = "blk.0.ffn_gate.weight"}
  greta.weight @blk0_ffn_up : !greta.weight<64x128, q8_0> {gguf_name = "blk.0.ffn_up.weight"}
  greta.weight @blk0_ffn_down : !greta.weight<128x64, q8_0> {gguf_name = "blk.0.ffn_down.weight"}
  greta.weight @blk1_ffn_norm : !greta.weight<64, f32> {gguf_name = "blk.1.ffn_norm.weight"}
  greta.weight @blk1_ffn_gate : !greta.weight<64x128, q8_0> {gguf_name = "blk.1.ffn_gate.weight"}
  greta.weight @blk1_ffn_up : !greta.weight<64x128, q8_0> {gguf_name = "blk.1.ffn_up.weight"}
  greta.weight @blk1_ffn_down : !greta.weight<128x64, q8_0> {gguf_name = "blk.1.ffn_down.weight"}
  greta.weight @output_norm : !greta.weight<64, f32> {gguf_name = "output_norm.weight"}

  // Tests that the final RMSNorm and the logits are audited, that the LM head reads the
  // audited value and the function returns the audited logits; with all-layers each layer's
  // output is audited too, named by its layer, and the next layer reads the audit's result.
  // With audit=none nothing is inserted; running the pass twice audits each point once.
  // CHECK-LABEL: func.func @prefill
  // CHECK: %[[N0:.*]] = greta.rms_norm %[[X:.*]], @blk0_ffn_norm
  // CHECK: %[[H0:.*]] = greta.add %[[X]], %{{.*}} : tensor<?x64xf32>
  // DEFAULT-NOT: layer_output
  // LAYERS: %[[A0:.*]] = greta.audit layer_output %[[H0]] layer 0 : tensor<?x64xf32>
  // LAYERS: greta.rms_norm %[[A0]], @blk1_ffn_norm
  // LAYERS: %[[H1:.*]] = greta.add %[[A0]], %{{.*}} : tensor<?x64xf32>
  // LAYERS: %[[A1:.*]] = greta.audit layer_output %[[H1]] layer 1 : tensor<?x64xf32>
  // DEFAULT: %[[F:.*]] = greta.rms_norm %{{.*}}, @output_norm eps = {{.*}} : tensor<?x64xf32>
  // LAYERS: %[[F:.*]] = greta.rms_norm %[[A1]], @output_norm eps = {{.*}} : tensor<?x64xf32>
  // CHECK-NEXT: %[[FA:.*]] = greta.audit final_rmsnorm %[[F]] : tensor<?x64xf32>
  // CHECK-NEXT: %[[L:.*]] = greta.lm_head %[[FA]], @token_embd last_only
  // CHECK-NEXT: %[[LA:.*]] = greta.audit lm_head %[[L]] : tensor<1x256xf32>
  // CHECK-NEXT: return %[[LA]]

  // NONE-NOT: greta.audit
  // TWICE-COUNT-1: greta.audit final_rmsnorm
  // TWICE-COUNT-1: greta.audit lm_head
  // TWICE-NOT: greta.audit final_rmsnorm
  // TWICE-NOT: greta.audit lm_head
  // TWICE: func.func @decode
  func.func @prefill(%tokens: tensor<?xi32>, %pos: tensor<?xi32>) -> tensor<1x256xf32>
      attributes {greta.phase = #greta<phase prefill>} {
    %x = greta.embedding %tokens, @token_embd : tensor<?xi32> -> tensor<?x64xf32>
    %n0 = greta.rms_norm %x, @blk0_ffn_norm eps = 1.0e-5 : tensor<?x64xf32>
    %g0 = greta.matmul %n0, @blk0_ffn_gate : tensor<?x64xf32> -> tensor<?x128xf32>
    %u0 = greta.matmul %n0, @blk0_ffn_up : tensor<?x64xf32> -> tensor<?x128xf32>
    %s0 = greta.silu_mul %g0, %u0 : tensor<?x128xf32>
    %d0 = greta.matmul %s0, @blk0_ffn_down : tensor<?x128xf32> -> tensor<?x64xf32>
    %h0 = greta.add %x, %d0 : tensor<?x64xf32>
    %n1 = greta.rms_norm %h0, @blk1_ffn_norm eps = 1.0e-5 : tensor<?x64xf32>
    %g1 = greta.matmul %n1, @blk1_ffn_gate : tensor<?x64xf32> -> tensor<?x128xf32>
    %u1 = greta.matmul %n1, @blk1_ffn_up : tensor<?x64xf32> -> tensor<?x128xf32>
    %s1 = greta.silu_mul %g1, %u1 : tensor<?x128xf32>
    %d1 = greta.matmul %s1, @blk1_ffn_down : tensor<?x128xf32> -> tensor<?x64xf32>
    %h1 = greta.add %h0, %d1 : tensor<?x64xf32>
    %f = greta.rms_norm %h1, @output_norm eps = 1.0e-5 : tensor<?x64xf32>
    %logits = greta.lm_head %f, @token_embd last_only : tensor<?x64xf32> -> tensor<1x256xf32>
    return %logits : tensor<1x256xf32>
  }

  // Tests that decode is audited at the same points as prefill.
  // CHECK-LABEL: func.func @decode
  // LAYERS: greta.audit layer_output %{{.*}} layer 0 : tensor<1x64xf32>
  // LAYERS: greta.audit layer_output %{{.*}} layer 1 : tensor<1x64xf32>
  // CHECK: %[[DF:.*]] = greta.rms_norm %{{.*}}, @output_norm
  // CHECK-NEXT: %[[DFA:.*]] = greta.audit final_rmsnorm %[[DF]] : tensor<1x64xf32>
  // CHECK-NEXT: %[[DL:.*]] = greta.lm_head %[[DFA]], @token_embd : tensor<1x64xf32> -> tensor<1x256xf32>
  // CHECK-NEXT: %[[DLA:.*]] = greta.audit lm_head %[[DL]] : tensor<1x256xf32>
  // CHECK-NEXT: return %[[DLA]]
  func.func @decode(%tokens: tensor<1xi32>, %pos: tensor<1xi32>) -> tensor<1x256xf32>
      attributes {greta.phase = #greta<phase decode>} {
    %x = greta.embedding %tokens, @token_embd : tensor<1xi32> -> tensor<1x64xf32>
    %n0 = greta.rms_norm %x, @blk0_ffn_norm eps = 1.0e-5 : tensor<1x64xf32>
    %g0 = greta.matmul %n0, @blk0_ffn_gate : tensor<1x64xf32> -> tensor<1x128xf32>
    %u0 = greta.matmul %n0, @blk0_ffn_up : tensor<1x64xf32> -> tensor<1x128xf32>
    %s0 = greta.silu_mul %g0, %u0 : tensor<1x128xf32>
    %d0 = greta.matmul %s0, @blk0_ffn_down : tensor<1x128xf32> -> tensor<1x64xf32>
    %h0 = greta.add %x, %d0 : tensor<1x64xf32>
    %n1 = greta.rms_norm %h0, @blk1_ffn_norm eps = 1.0e-5 : tensor<1x64xf32>
    %g1 = greta.matmul %n1, @blk1_ffn_gate : tensor<1x64xf32> -> tensor<1x128xf32>
    %u1 = greta.matmul %n1, @blk1_ffn_up : tensor<1x64xf32> -> tensor<1x128xf32>
    %s1 = greta.silu_mul %g1, %u1 : tensor<1x128xf32>
    %d1 = greta.matmul %s1, @blk1_ffn_down : tensor<1x128xf32> -> tensor<1x64xf32>
    %h1 = greta.add %h0, %d1 : tensor<1x64xf32>
    %f = greta.rms_norm %h1, @output_norm eps = 1.0e-5 : tensor<1x64xf32>
    %logits = greta.lm_head %f, @token_embd : tensor<1x64xf32> -> tensor<1x256xf32>
    return %logits : tensor<1x256xf32>
  }
}

// -----

// Tests that audit=none removes audits already in the program (their users read the audited
// value), and that the other levels keep the existing ones without adding duplicates.
module {
  greta.weight @token_embd : !greta.weight<64x256, q8_0> {gguf_name = "token_embd.weight"}
  greta.weight @output_norm : !greta.weight<64, f32> {gguf_name = "output_norm.weight"}
  // CHECK-LABEL: func.func @audited
  // CHECK: greta.audit final_rmsnorm
  // CHECK-NOT: greta.audit final_rmsnorm
  // CHECK: greta.audit lm_head
  // CHECK-NOT: greta.audit

  // NONE-LABEL: func.func @audited
  // NONE: %[[F:.*]] = greta.rms_norm
  // NONE-NEXT: %[[L:.*]] = greta.lm_head %[[F]], @token_embd
  // NONE-NEXT: return %[[L]]
  // NONE-NOT: greta.audit
  func.func @audited(%tokens: tensor<1xi32>) -> tensor<1x256xf32>
      attributes {greta.phase = #greta<phase decode>} {
    %x = greta.embedding %tokens, @token_embd : tensor<1xi32> -> tensor<1x64xf32>
    %f = greta.rms_norm %x, @output_norm eps = 1.0e-5 : tensor<1x64xf32>
    %fa = greta.audit final_rmsnorm %f : tensor<1x64xf32>
    %logits = greta.lm_head %fa, @token_embd : tensor<1x64xf32> -> tensor<1x256xf32>
    %la = greta.audit lm_head %logits : tensor<1x256xf32>
    return %la : tensor<1x256xf32>
  }
}

// -----

// Tests that the normalised output of a fused add_rms_norm feeding the LM head is audited as
// the final RMSNorm, and that a layer output carried by a matmul's residual_add epilogue is
// recognised as one (all-layers).
module {
  greta.weight @token_embd : !greta.weight<64x256, q8_0> {gguf_name = "token_embd.weight"}
  greta.weight @blk0_ffn_gate : !greta.weight<64x128, q8_0> {gguf_name = "blk.0.ffn_gate.weight"}
  greta.weight @blk0_ffn_up : !greta.weight<64x128, q8_0> {gguf_name = "blk.0.ffn_up.weight"}
  greta.weight @blk0_ffn_down : !greta.weight<128x64, q8_0> {gguf_name = "blk.0.ffn_down.weight"}
  greta.weight @output_norm : !greta.weight<64, f32> {gguf_name = "output_norm.weight"}
  // CHECK-LABEL: func.func @fused
  // CHECK: %[[D:.*]] = greta.matmul %{{.*}}, @blk0_ffn_down residual_add
  // LAYERS-NEXT: %[[DA:.*]] = greta.audit layer_output %[[D]] layer 0
  // CHECK: %[[S:.*]], %[[N:.*]] = greta.add_rms_norm
  // CHECK-NEXT: %[[NA:.*]] = greta.audit final_rmsnorm %[[N]] : tensor<1x64xf32>
  // CHECK-NEXT: greta.lm_head %[[NA]], @token_embd
  func.func @fused(%tokens: tensor<1xi32>) -> tensor<1x256xf32>
      attributes {greta.phase = #greta<phase decode>} {
    %x = greta.embedding %tokens, @token_embd : tensor<1xi32> -> tensor<1x64xf32>
    %gu = greta.matmul %x, @blk0_ffn_gate silu_mul(@blk0_ffn_up) : tensor<1x64xf32> -> tensor<1x128xf32>
    %h = greta.matmul %gu, @blk0_ffn_down residual_add(%x : tensor<1x64xf32>) : tensor<1x128xf32> -> tensor<1x64xf32>
    %s, %f = greta.add_rms_norm %h, %x, @output_norm eps = 1.0e-5 : tensor<1x64xf32>
    %logits = greta.lm_head %f, @token_embd : tensor<1x64xf32> -> tensor<1x256xf32>
    return %logits : tensor<1x256xf32>
  }
}
