// RUN: greta-opt %s --split-input-file --greta-fuse | FileCheck %s

// A one-layer decode program, audited (as greta-insert-audit leaves it).
module {
  greta.weight @token_embd : !greta.weight<64x256, q8_0> {gguf_name = "token_embd.weight"}
  greta.weight @rope_freqs : !greta.weight<8, f32> {gguf_name = "rope_freqs.weight"}
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
  greta.kv_cache @kv0 : !greta.kv<ctx = 128, kv_heads = 2, head_dim = 16, dtype = f32>

  // Tests the whole layer: the attention norm becomes the prologue of q, k and v; the query
  // and key ropes and the append become one rope_kv_append; o-proj and down carry the residual
  // adds; gate and up become one matmul with the SwiGLU epilogue and the FFN norm as prologue.
  // The audited final norm stays materialised for the LM head.
  // CHECK-LABEL: func.func @decode
  // CHECK-SAME: (%[[TOK:.*]]: tensor<1xi32>, %[[POS:.*]]: tensor<1xi32>)
  // CHECK: %[[X:.*]] = greta.embedding %[[TOK]]
  // CHECK-NEXT: %[[Q:.*]] = greta.matmul %[[X]], @blk0_attn_q rms_norm(@blk0_attn_norm, eps = {{.*}}) : tensor<1x64xf32> -> tensor<1x64xf32>
  // CHECK-NEXT: %[[K:.*]] = greta.matmul %[[X]], @blk0_attn_k rms_norm(@blk0_attn_norm, eps = {{.*}}) : tensor<1x64xf32> -> tensor<1x32xf32>
  // CHECK-NEXT: %[[V:.*]] = greta.matmul %[[X]], @blk0_attn_v rms_norm(@blk0_attn_norm, eps = {{.*}}) : tensor<1x64xf32> -> tensor<1x32xf32>
  // CHECK-NEXT: %[[QR:.*]] = greta.rope_kv_append %[[Q]], %[[K]], %[[V]], %[[POS]] into @kv0 heads = 4 theta = 1.000000e+04 freqs = @rope_freqs
  // CHECK-NEXT: %[[A:.*]] = greta.attention %[[QR]], %[[POS]] from @kv0
  // CHECK-NEXT: %[[H:.*]] = greta.matmul %[[A]], @blk0_attn_output residual_add(%[[X]] : tensor<1x64xf32>)
  // CHECK-NEXT: %[[GU:.*]] = greta.matmul %[[H]], @blk0_ffn_gate rms_norm(@blk0_ffn_norm, eps = {{.*}}) silu_mul(@blk0_ffn_up) : tensor<1x64xf32> -> tensor<1x128xf32>
  // CHECK-NEXT: %[[H2:.*]] = greta.matmul %[[GU]], @blk0_ffn_down residual_add(%[[H]] : tensor<1x64xf32>)
  // CHECK-NEXT: %[[F:.*]] = greta.rms_norm %[[H2]], @output_norm
  // CHECK-NEXT: %[[FA:.*]] = greta.audit final_rmsnorm %[[F]]
  // CHECK-NEXT: %[[L:.*]] = greta.lm_head %[[FA]], @token_embd
  // CHECK-NEXT: %[[LA:.*]] = greta.audit lm_head %[[L]]
  // CHECK-NEXT: return %[[LA]]
  // CHECK-NOT: greta.rope
  // CHECK-NOT: greta.add
  // CHECK-NOT: greta.silu_mul
  func.func @decode(%tokens: tensor<1xi32>, %pos: tensor<1xi32>) -> tensor<1x256xf32>
      attributes {greta.phase = #greta<phase decode>} {
    %x = greta.embedding %tokens, @token_embd : tensor<1xi32> -> tensor<1x64xf32>
    %n = greta.rms_norm %x, @blk0_attn_norm eps = 1.0e-5 : tensor<1x64xf32>
    %q = greta.matmul %n, @blk0_attn_q : tensor<1x64xf32> -> tensor<1x64xf32>
    %k = greta.matmul %n, @blk0_attn_k : tensor<1x64xf32> -> tensor<1x32xf32>
    %v = greta.matmul %n, @blk0_attn_v : tensor<1x64xf32> -> tensor<1x32xf32>
    %qr = greta.rope %q, %pos heads = 4 head_dim = 16 theta = 1.0e4 freqs = @rope_freqs : tensor<1x64xf32>, tensor<1xi32>
    %kr = greta.rope %k, %pos heads = 2 head_dim = 16 theta = 1.0e4 freqs = @rope_freqs : tensor<1x32xf32>, tensor<1xi32>
    greta.kv_append %kr, %v, %pos into @kv0 : tensor<1x32xf32>, tensor<1xi32>
    %a = greta.attention %qr, %pos from @kv0 heads = 4 kv_heads = 2 causal : tensor<1x64xf32>, tensor<1xi32>
    %o = greta.matmul %a, @blk0_attn_output : tensor<1x64xf32> -> tensor<1x64xf32>
    %h = greta.add %x, %o : tensor<1x64xf32>
    %n2 = greta.rms_norm %h, @blk0_ffn_norm eps = 1.0e-5 : tensor<1x64xf32>
    %g = greta.matmul %n2, @blk0_ffn_gate : tensor<1x64xf32> -> tensor<1x128xf32>
    %u = greta.matmul %n2, @blk0_ffn_up : tensor<1x64xf32> -> tensor<1x128xf32>
    %gu = greta.silu_mul %g, %u : tensor<1x128xf32>
    %d = greta.matmul %gu, @blk0_ffn_down : tensor<1x128xf32> -> tensor<1x64xf32>
    %h2 = greta.add %h, %d : tensor<1x64xf32>
    %f = greta.rms_norm %h2, @output_norm eps = 1.0e-5 : tensor<1x64xf32>
    %fa = greta.audit final_rmsnorm %f : tensor<1x64xf32>
    %logits = greta.lm_head %fa, @token_embd : tensor<1x64xf32> -> tensor<1x256xf32>
    %la = greta.audit lm_head %logits : tensor<1x256xf32>
    return %la : tensor<1x256xf32>
  }
}

// -----

greta.weight @w : !greta.weight<64x64, q8_0> {gguf_name = "w.weight"}
greta.weight @norm : !greta.weight<64, f32> {gguf_name = "norm.weight"}

// Tests that an audited RMSNorm stays materialised: its matmul users read the stored value
// instead of taking it as a prologue.
// CHECK-LABEL: func.func @audited_norm
// CHECK: %[[N:.*]] = greta.rms_norm %{{.*}}, @norm
// CHECK-NEXT: %[[NA:.*]] = greta.audit final_rmsnorm %[[N]]
// CHECK-NEXT: greta.matmul %[[NA]], @w : tensor<?x64xf32> -> tensor<?x64xf32>
func.func @audited_norm(%x: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %n = greta.rms_norm %x, @norm eps = 1.0e-5 : tensor<?x64xf32>
  %na = greta.audit final_rmsnorm %n : tensor<?x64xf32>
  %y = greta.matmul %na, @w : tensor<?x64xf32> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// Tests that a norm also read by something other than a matmul's input (here, returned) stays
// as it is, and so do its matmul users.
// CHECK-LABEL: func.func @escaping_norm
// CHECK: %[[N:.*]] = greta.rms_norm
// CHECK-NEXT: greta.matmul %[[N]], @w :
func.func @escaping_norm(%x: tensor<?x64xf32>) -> (tensor<?x64xf32>, tensor<?x64xf32>) {
  %n = greta.rms_norm %x, @norm eps = 1.0e-5 : tensor<?x64xf32>
  %y = greta.matmul %n, @w : tensor<?x64xf32> -> tensor<?x64xf32>
  return %n, %y : tensor<?x64xf32>, tensor<?x64xf32>
}

// Tests that a residual add whose matmul result has another user is not folded into that
// matmul's epilogue; it becomes an add_rms_norm with the norm that follows it, which returns
// both the sum (still used) and the normalised rows.
// CHECK-LABEL: func.func @add_rms_norm
// CHECK-SAME: (%[[X:.*]]: tensor<?x64xf32>, %[[A:.*]]: tensor<?x64xf32>)
// CHECK: %[[Y:.*]] = greta.matmul %[[A]], @w :
// CHECK-NEXT: %[[S:.*]], %[[N:.*]] = greta.add_rms_norm %[[X]], %[[Y]], @norm eps = {{.*}} : tensor<?x64xf32>
// CHECK-NEXT: return %[[S]], %[[N]], %[[Y]]
// CHECK-NOT: greta.add
func.func @add_rms_norm(%x: tensor<?x64xf32>, %a: tensor<?x64xf32>)
    -> (tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>) {
  %y = greta.matmul %a, @w : tensor<?x64xf32> -> tensor<?x64xf32>
  %s = greta.add %x, %y : tensor<?x64xf32>
  %n = greta.rms_norm %s, @norm eps = 1.0e-5 : tensor<?x64xf32>
  return %s, %n, %y : tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>
}

// Tests that add_rms_norm wins over the norm prologue when the add has no matmul to go into:
// one kernel computes both, and the matmuls read the stored normalised rows.
// CHECK-LABEL: func.func @add_rms_norm_before_matmul
// CHECK: %[[S:.*]], %[[N:.*]] = greta.add_rms_norm
// CHECK-NEXT: greta.matmul %[[N]], @w :
func.func @add_rms_norm_before_matmul(%x: tensor<?x64xf32>, %b: tensor<?x64xf32>)
    -> (tensor<?x64xf32>, tensor<?x64xf32>) {
  %s = greta.add %x, %b : tensor<?x64xf32>
  %n = greta.rms_norm %s, @norm eps = 1.0e-5 : tensor<?x64xf32>
  %y = greta.matmul %n, @w : tensor<?x64xf32> -> tensor<?x64xf32>
  return %s, %y : tensor<?x64xf32>, tensor<?x64xf32>
}

// Tests that a matmul which already has an epilogue does not take a second one: the outer add
// stays an add.
// CHECK-LABEL: func.func @one_epilogue
// CHECK: %[[Y:.*]] = greta.matmul %{{.*}}, @w residual_add
// CHECK-NEXT: greta.add %{{.*}}, %[[Y]]
func.func @one_epilogue(%x: tensor<?x64xf32>, %r: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %y = greta.matmul %x, @w residual_add(%r : tensor<?x64xf32>) : tensor<?x64xf32> -> tensor<?x64xf32>
  %s = greta.add %x, %y : tensor<?x64xf32>
  return %s : tensor<?x64xf32>
}

// -----

greta.weight @gate : !greta.weight<64x128, q8_0> {gguf_name = "blk.0.ffn_gate.weight"}
greta.weight @up : !greta.weight<64x128, q8_0> {gguf_name = "blk.0.ffn_up.weight"}
greta.weight @up_q4 : !greta.weight<64x128, q4_0> {gguf_name = "blk.1.ffn_up.weight"}

// Tests that gate and up matmuls of one input fuse with silu_mul, keeping the route they share.
// CHECK-LABEL: func.func @swiglu
// CHECK-NEXT: %[[GU:.*]] = greta.matmul %{{.*}}, @gate silu_mul(@up) route gemm : tensor<?x64xf32> -> tensor<?x128xf32>
// CHECK-NEXT: return %[[GU]]
func.func @swiglu(%x: tensor<?x64xf32>) -> tensor<?x128xf32> {
  %g = greta.matmul %x, @gate route gemm : tensor<?x64xf32> -> tensor<?x128xf32>
  %u = greta.matmul %x, @up route gemm : tensor<?x64xf32> -> tensor<?x128xf32>
  %gu = greta.silu_mul %g, %u : tensor<?x128xf32>
  return %gu : tensor<?x128xf32>
}

// Tests that gate and up of different inputs do not fuse.
// CHECK-LABEL: func.func @swiglu_two_inputs
// CHECK: greta.silu_mul
func.func @swiglu_two_inputs(%x: tensor<?x64xf32>, %y: tensor<?x64xf32>) -> tensor<?x128xf32> {
  %g = greta.matmul %x, @gate : tensor<?x64xf32> -> tensor<?x128xf32>
  %u = greta.matmul %y, @up : tensor<?x64xf32> -> tensor<?x128xf32>
  %gu = greta.silu_mul %g, %u : tensor<?x128xf32>
  return %gu : tensor<?x128xf32>
}

// Tests that gate and up weights of different quant types do not fuse (one kernel reads one
// weight format).
// CHECK-LABEL: func.func @swiglu_mixed_quant
// CHECK: greta.silu_mul
func.func @swiglu_mixed_quant(%x: tensor<?x64xf32>) -> tensor<?x128xf32> {
  %g = greta.matmul %x, @gate : tensor<?x64xf32> -> tensor<?x128xf32>
  %u = greta.matmul %x, @up_q4 : tensor<?x64xf32> -> tensor<?x128xf32>
  %gu = greta.silu_mul %g, %u : tensor<?x128xf32>
  return %gu : tensor<?x128xf32>
}

// Tests that gate and up on different routes do not fuse.
// CHECK-LABEL: func.func @swiglu_two_routes
// CHECK: greta.silu_mul
func.func @swiglu_two_routes(%x: tensor<?x64xf32>) -> tensor<?x128xf32> {
  %g = greta.matmul %x, @gate route gemm : tensor<?x64xf32> -> tensor<?x128xf32>
  %u = greta.matmul %x, @up route gemv : tensor<?x64xf32> -> tensor<?x128xf32>
  %gu = greta.silu_mul %g, %u : tensor<?x128xf32>
  return %gu : tensor<?x128xf32>
}

// -----

greta.kv_cache @kv0 : !greta.kv<ctx = 128, kv_heads = 2, head_dim = 16, dtype = f32>

// Tests that query and key ropes of different theta are not fused with the append.
// CHECK-LABEL: func.func @rope_theta_mismatch
// CHECK: greta.rope
// CHECK: greta.rope
// CHECK: greta.kv_append
// CHECK-NOT: greta.rope_kv_append
func.func @rope_theta_mismatch(%q: tensor<?x64xf32>, %k: tensor<?x32xf32>, %v: tensor<?x32xf32>,
                               %pos: tensor<?xi32>) -> tensor<?x64xf32> {
  %qr = greta.rope %q, %pos heads = 4 head_dim = 16 theta = 1.0e4 : tensor<?x64xf32>, tensor<?xi32>
  %kr = greta.rope %k, %pos heads = 2 head_dim = 16 theta = 5.0e5 : tensor<?x32xf32>, tensor<?xi32>
  greta.kv_append %kr, %v, %pos into @kv0 : tensor<?x32xf32>, tensor<?xi32>
  %a = greta.attention %qr, %pos from @kv0 heads = 4 kv_heads = 2 causal : tensor<?x64xf32>, tensor<?xi32>
  return %a : tensor<?x64xf32>
}

// Tests that the rotated queries are fused only when nothing reads them before the append.
// CHECK-LABEL: func.func @rope_read_early
// CHECK: %[[QR:.*]] = greta.rope
// CHECK: greta.kv_append
// CHECK-NOT: greta.rope_kv_append
func.func @rope_read_early(%q: tensor<?x64xf32>, %k: tensor<?x32xf32>, %v: tensor<?x32xf32>,
                           %pos: tensor<?xi32>) -> (tensor<?x64xf32>, tensor<?x64xf32>) {
  %qr = greta.rope %q, %pos heads = 4 head_dim = 16 theta = 1.0e4 : tensor<?x64xf32>, tensor<?xi32>
  %early = greta.audit layer_output %qr layer 0 : tensor<?x64xf32>
  %kr = greta.rope %k, %pos heads = 2 head_dim = 16 theta = 1.0e4 : tensor<?x32xf32>, tensor<?xi32>
  greta.kv_append %kr, %v, %pos into @kv0 : tensor<?x32xf32>, tensor<?xi32>
  %a = greta.attention %qr, %pos from @kv0 heads = 4 kv_heads = 2 causal : tensor<?x64xf32>, tensor<?xi32>
  return %early, %a : tensor<?x64xf32>, tensor<?x64xf32>
}
