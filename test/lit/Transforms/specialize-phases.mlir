// RUN: greta-opt %s --split-input-file --greta-specialize-phases | FileCheck %s

// A one-layer model (GQA: 4 query heads over 2 KV heads) as greta-import writes it.
module attributes {greta.model = #greta.model<layers = 1, dim = 64, heads = 4, kv_heads = 2,
    ffn = 128, vocab = 256, context = 128, rope_theta = 1.0e4, eps = 1.0e-5, tied = false>} {
  greta.weight @token_embd : !greta.weight<64x256, q8_0> {gguf_name = "token_embd.weight"}
  greta.weight @blk0_attn_norm : !greta.weight<64, f32> {gguf_name = "blk.0.attn_norm.weight"}
  greta.weight @blk0_attn_q : !greta.weight<64x64, q8_0> {gguf_name = "blk.0.attn_q.weight"}
  greta.weight @blk0_attn_k : !greta.weight<64x32, q8_0> {gguf_name = "blk.0.attn_k.weight"}
  greta.weight @blk0_attn_v : !greta.weight<64x32, q8_0> {gguf_name = "blk.0.attn_v.weight"}
  greta.weight @blk0_attn_output : !greta.weight<64x64, q8_0> {gguf_name = "blk.0.attn_output.weight"}
  greta.weight @blk0_ffn_norm : !greta.weight<64, f32> {gguf_name = "blk.0.ffn_norm.weight"}
  greta.weight @blk0_ffn_gate : !greta.weight<64x128, q8_0> {gguf_name = "blk.0.ffn_gate.weight"}
  greta.weight @blk0_ffn_up : !greta.weight<64x128, q8_0> {gguf_name = "blk.0.ffn_up.weight"}
  greta.weight @blk0_ffn_down : !greta.weight<128x64, q8_0> {gguf_name = "blk.0.ffn_down.weight"}
  greta.weight @output_norm : !greta.weight<64, f32> {gguf_name = "output_norm.weight"}
  greta.weight @output : !greta.weight<64x256, q8_0> {gguf_name = "output.weight"}
  greta.kv_cache @kv0 : !greta.kv<ctx = 128, kv_heads = 2, head_dim = 16, dtype = f32>

  // Tests that @forward is replaced by @prefill (dynamic sequence, LM head on the last row
  // only) and @decode (one token: every shape static), each marked with its phase.
  // CHECK-NOT: func.func @forward
  // CHECK-LABEL: func.func @prefill
  // CHECK-SAME: (%[[TOK:.*]]: tensor<?xi32>, %[[POS:.*]]: tensor<?xi32>) -> tensor<1x256xf32>
  // CHECK-SAME: attributes {greta.phase = #greta<phase prefill>}
  // CHECK: %[[X:.*]] = greta.embedding %[[TOK]], @token_embd : tensor<?xi32> -> tensor<?x64xf32>
  // CHECK: %[[N:.*]] = greta.rms_norm %[[X]], @blk0_attn_norm {{.*}} : tensor<?x64xf32>
  // CHECK: greta.matmul %[[N]], @blk0_attn_k : tensor<?x64xf32> -> tensor<?x32xf32>
  // CHECK: greta.rope {{.*}}, %[[POS]] heads = 2 head_dim = 16 {{.*}} : tensor<?x32xf32>, tensor<?xi32>
  // CHECK: greta.kv_append {{.*}} into @kv0 : tensor<?x32xf32>, tensor<?xi32>
  // CHECK: greta.attention {{.*}} from @kv0 heads = 4 kv_heads = 2 causal : tensor<?x64xf32>, tensor<?xi32>
  // CHECK: greta.silu_mul {{.*}} : tensor<?x128xf32>
  // CHECK: %[[F:.*]] = greta.rms_norm {{.*}}, @output_norm {{.*}} : tensor<?x64xf32>
  // CHECK: %[[L:.*]] = greta.lm_head %[[F]], @output last_only : tensor<?x64xf32> -> tensor<1x256xf32>
  // CHECK: return %[[L]] : tensor<1x256xf32>

  // CHECK-LABEL: func.func @decode
  // CHECK-SAME: (%[[DTOK:.*]]: tensor<1xi32>, %[[DPOS:.*]]: tensor<1xi32>) -> tensor<1x256xf32>
  // CHECK-SAME: attributes {greta.phase = #greta<phase decode>}
  // CHECK: greta.embedding %[[DTOK]], @token_embd : tensor<1xi32> -> tensor<1x64xf32>
  // CHECK: greta.rope {{.*}}, %[[DPOS]] heads = 4 head_dim = 16 {{.*}} : tensor<1x64xf32>, tensor<1xi32>
  // CHECK: greta.kv_append {{.*}} into @kv0 : tensor<1x32xf32>, tensor<1xi32>
  // CHECK: greta.attention {{.*}} : tensor<1x64xf32>, tensor<1xi32>
  // CHECK: greta.matmul {{.*}}, @blk0_ffn_down : tensor<1x128xf32> -> tensor<1x64xf32>
  // CHECK: %[[DL:.*]] = greta.lm_head {{.*}}, @output : tensor<1x64xf32> -> tensor<1x256xf32>
  // CHECK-NOT: last_only
  // CHECK: return %[[DL]] : tensor<1x256xf32>
  // CHECK-NOT: func.func @forward
  func.func @forward(%tokens: tensor<?xi32>, %pos: tensor<?xi32>) -> tensor<?x256xf32> {
    %x = greta.embedding %tokens, @token_embd : tensor<?xi32> -> tensor<?x64xf32>
    %n = greta.rms_norm %x, @blk0_attn_norm eps = 1.0e-5 : tensor<?x64xf32>
    %q = greta.matmul %n, @blk0_attn_q : tensor<?x64xf32> -> tensor<?x64xf32>
    %k = greta.matmul %n, @blk0_attn_k : tensor<?x64xf32> -> tensor<?x32xf32>
    %v = greta.matmul %n, @blk0_attn_v : tensor<?x64xf32> -> tensor<?x32xf32>
    %qr = greta.rope %q, %pos heads = 4 head_dim = 16 theta = 1.0e4 : tensor<?x64xf32>, tensor<?xi32>
    %kr = greta.rope %k, %pos heads = 2 head_dim = 16 theta = 1.0e4 : tensor<?x32xf32>, tensor<?xi32>
    greta.kv_append %kr, %v, %pos into @kv0 : tensor<?x32xf32>, tensor<?xi32>
    %a = greta.attention %qr, %pos from @kv0 heads = 4 kv_heads = 2 causal : tensor<?x64xf32>, tensor<?xi32>
    %o = greta.matmul %a, @blk0_attn_output : tensor<?x64xf32> -> tensor<?x64xf32>
    %h = greta.add %x, %o : tensor<?x64xf32>
    %n2 = greta.rms_norm %h, @blk0_ffn_norm eps = 1.0e-5 : tensor<?x64xf32>
    %g = greta.matmul %n2, @blk0_ffn_gate : tensor<?x64xf32> -> tensor<?x128xf32>
    %u = greta.matmul %n2, @blk0_ffn_up : tensor<?x64xf32> -> tensor<?x128xf32>
    %gu = greta.silu_mul %g, %u : tensor<?x128xf32>
    %d = greta.matmul %gu, @blk0_ffn_down : tensor<?x128xf32> -> tensor<?x64xf32>
    %h2 = greta.add %h, %d : tensor<?x64xf32>
    %f = greta.rms_norm %h2, @output_norm eps = 1.0e-5 : tensor<?x64xf32>
    %logits = greta.lm_head %f, @output : tensor<?x64xf32> -> tensor<?x256xf32>
    return %logits : tensor<?x256xf32>
  }
}

// -----

// Tests that the module's other symbols (weights, caches, the model attribute) are left as
// they are, and that the phases come out in the place of @forward, prefill first.
// CHECK-LABEL: greta.weight @token_embd : !greta.weight<64x256, f16>
// CHECK-NEXT: greta.weight @output_norm
// CHECK-NEXT: func.func @prefill
// CHECK: func.func @decode
// CHECK: greta.kv_cache @kv0
module attributes {greta.model = #greta.model<layers = 1, dim = 64, heads = 4, kv_heads = 2,
    ffn = 128, vocab = 256, context = 128, rope_theta = 1.0e4, eps = 1.0e-5, tied = true>} {
  greta.weight @token_embd : !greta.weight<64x256, f16> {gguf_name = "token_embd.weight"}
  greta.weight @output_norm : !greta.weight<64, f32> {gguf_name = "output_norm.weight"}
  func.func @forward(%tokens: tensor<?xi32>, %pos: tensor<?xi32>) -> tensor<?x256xf32> {
    %x = greta.embedding %tokens, @token_embd : tensor<?xi32> -> tensor<?x64xf32>
    %f = greta.rms_norm %x, @output_norm eps = 1.0e-5 : tensor<?x64xf32>
    %logits = greta.lm_head %f, @token_embd : tensor<?x64xf32> -> tensor<?x256xf32>
    return %logits : tensor<?x256xf32>
  }
  greta.kv_cache @kv0 : !greta.kv<ctx = 128, kv_heads = 2, head_dim = 16, dtype = f32>
}

// -----

// Tests that a tied LM head (reading the token embedding) is specialised like any other:
// last_only in prefill, one static row in decode.
// CHECK-LABEL: greta.weight @token_embd : !greta.weight<64x256, q8_0>
// CHECK: func.func @prefill
// CHECK: greta.lm_head %{{.*}}, @token_embd last_only : tensor<?x64xf32> -> tensor<1x256xf32>
// CHECK: func.func @decode
// CHECK: greta.lm_head %{{.*}}, @token_embd : tensor<1x64xf32> -> tensor<1x256xf32>
module attributes {greta.model = #greta.model<layers = 1, dim = 64, heads = 4, kv_heads = 2,
    ffn = 128, vocab = 256, context = 128, rope_theta = 1.0e4, eps = 1.0e-5, tied = true>} {
  greta.weight @token_embd : !greta.weight<64x256, q8_0> {gguf_name = "token_embd.weight"}
  greta.weight @output_norm : !greta.weight<64, f32> {gguf_name = "output_norm.weight"}
  func.func @forward(%tokens: tensor<?xi32>, %pos: tensor<?xi32>) -> tensor<?x256xf32> {
    %x = greta.embedding %tokens, @token_embd : tensor<?xi32> -> tensor<?x64xf32>
    %f = greta.rms_norm %x, @output_norm eps = 1.0e-5 : tensor<?x64xf32>
    %logits = greta.lm_head %f, @token_embd : tensor<?x64xf32> -> tensor<?x256xf32>
    return %logits : tensor<?x256xf32>
  }
}

// -----

// Tests that audits already in @forward are specialised with what they audit: the prefill
// logits audit takes the last-row type of the LM head's result.
// CHECK-LABEL: greta.weight @token_embd : !greta.weight<64x256, q4_0>
// CHECK: func.func @prefill
// CHECK: %[[L:.*]] = greta.lm_head %{{.*}}, @token_embd last_only : tensor<?x64xf32> -> tensor<1x256xf32>
// CHECK-NEXT: %[[LA:.*]] = greta.audit lm_head %[[L]] : tensor<1x256xf32>
// CHECK-NEXT: return %[[LA]] : tensor<1x256xf32>
// CHECK: func.func @decode
// CHECK: greta.audit final_rmsnorm %{{.*}} : tensor<1x64xf32>
// CHECK: greta.audit lm_head %{{.*}} : tensor<1x256xf32>
module {
  greta.weight @token_embd : !greta.weight<64x256, q4_0> {gguf_name = "token_embd.weight"}
  greta.weight @output_norm : !greta.weight<64, f32> {gguf_name = "output_norm.weight"}
  func.func @forward(%tokens: tensor<?xi32>, %pos: tensor<?xi32>) -> tensor<?x256xf32> {
    %x = greta.embedding %tokens, @token_embd : tensor<?xi32> -> tensor<?x64xf32>
    %f = greta.rms_norm %x, @output_norm eps = 1.0e-5 : tensor<?x64xf32>
    %fa = greta.audit final_rmsnorm %f : tensor<?x64xf32>
    %logits = greta.lm_head %fa, @token_embd : tensor<?x64xf32> -> tensor<?x256xf32>
    %la = greta.audit lm_head %logits : tensor<?x256xf32>
    return %la : tensor<?x256xf32>
  }
}
