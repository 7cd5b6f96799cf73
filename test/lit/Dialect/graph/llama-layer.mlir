// RUN: greta-opt %s --split-input-file | greta-opt --split-input-file | FileCheck %s
// RUN: greta-opt %s --split-input-file --mlir-print-op-generic | greta-opt --split-input-file | FileCheck %s

// Tests that a hand-written one-layer Llama-3-8B forward (as greta-import writes it: one
// function over a dynamic sequence length, weights as symbols) verifies and round-trips.
module attributes {greta.model = #greta.model<layers = 1, dim = 4096, heads = 32, kv_heads = 8,
    ffn = 14336, vocab = 128256, context = 8192, rope_theta = 5.0e5, eps = 1.0e-5, tied = false>} {
  greta.weight @token_embd : !greta.weight<4096x128256, q4_k> {gguf_name = "token_embd.weight"}
  greta.weight @rope_freqs : !greta.weight<64, f32> {gguf_name = "rope_freqs.weight"}
  greta.weight @blk0_attn_norm : !greta.weight<4096, f32> {gguf_name = "blk.0.attn_norm.weight"}
  greta.weight @blk0_attn_q : !greta.weight<4096x4096, q4_k> {gguf_name = "blk.0.attn_q.weight"}
  greta.weight @blk0_attn_k : !greta.weight<4096x1024, q4_k> {gguf_name = "blk.0.attn_k.weight"}
  greta.weight @blk0_attn_v : !greta.weight<4096x1024, q6_k> {gguf_name = "blk.0.attn_v.weight"}
  greta.weight @blk0_attn_output : !greta.weight<4096x4096, q4_k> {gguf_name = "blk.0.attn_output.weight"}
  greta.weight @blk0_ffn_norm : !greta.weight<4096, f32> {gguf_name = "blk.0.ffn_norm.weight"}
  greta.weight @blk0_ffn_gate : !greta.weight<4096x14336, q4_k> {gguf_name = "blk.0.ffn_gate.weight"}
  greta.weight @blk0_ffn_up : !greta.weight<4096x14336, q4_k> {gguf_name = "blk.0.ffn_up.weight"}
  greta.weight @blk0_ffn_down : !greta.weight<14336x4096, q6_k> {gguf_name = "blk.0.ffn_down.weight"}
  greta.weight @output_norm : !greta.weight<4096, f32> {gguf_name = "output_norm.weight"}
  greta.weight @output : !greta.weight<4096x128256, q6_k> {gguf_name = "output.weight"}
  greta.kv_cache @kv0 : !greta.kv<ctx = 8192, kv_heads = 8, head_dim = 128, dtype = f16>

  // CHECK-LABEL: func.func @forward
  // CHECK-SAME: (%[[TOK:.*]]: tensor<?xi32>, %[[POS:.*]]: tensor<?xi32>) -> tensor<?x128256xf32>
  // CHECK: %[[X:.*]] = greta.embedding %[[TOK]], @token_embd
  // CHECK: %[[N:.*]] = greta.rms_norm %[[X]], @blk0_attn_norm
  // CHECK: %[[Q:.*]] = greta.matmul %[[N]], @blk0_attn_q : tensor<?x4096xf32> -> tensor<?x4096xf32>
  // CHECK: %[[K:.*]] = greta.matmul %[[N]], @blk0_attn_k : tensor<?x4096xf32> -> tensor<?x1024xf32>
  // CHECK: %[[V:.*]] = greta.matmul %[[N]], @blk0_attn_v : tensor<?x4096xf32> -> tensor<?x1024xf32>
  // CHECK: %[[QR:.*]] = greta.rope %[[Q]], %[[POS]] heads = 32 head_dim = 128 {{.*}} freqs = @rope_freqs
  // CHECK: %[[KR:.*]] = greta.rope %[[K]], %[[POS]] heads = 8 head_dim = 128 {{.*}} freqs = @rope_freqs
  // CHECK: greta.kv_append %[[KR]], %[[V]], %[[POS]] into @kv0
  // CHECK: %[[A:.*]] = greta.attention %[[QR]], %[[POS]] from @kv0 heads = 32 kv_heads = 8 causal
  // CHECK: %[[O:.*]] = greta.matmul %[[A]], @blk0_attn_output
  // CHECK: %[[H:.*]] = greta.add %[[X]], %[[O]]
  // CHECK: %[[N2:.*]] = greta.rms_norm %[[H]], @blk0_ffn_norm
  // CHECK: %[[G:.*]] = greta.matmul %[[N2]], @blk0_ffn_gate : tensor<?x4096xf32> -> tensor<?x14336xf32>
  // CHECK: %[[U:.*]] = greta.matmul %[[N2]], @blk0_ffn_up
  // CHECK: %[[GU:.*]] = greta.silu_mul %[[G]], %[[U]] : tensor<?x14336xf32>
  // CHECK: %[[D:.*]] = greta.matmul %[[GU]], @blk0_ffn_down : tensor<?x14336xf32> -> tensor<?x4096xf32>
  // CHECK: %[[H2:.*]] = greta.add %[[H]], %[[D]]
  // CHECK: %[[F:.*]] = greta.rms_norm %[[H2]], @output_norm
  // CHECK: %[[L:.*]] = greta.lm_head %[[F]], @output : tensor<?x4096xf32> -> tensor<?x128256xf32>
  // CHECK: return %[[L]]
  func.func @forward(%tokens: tensor<?xi32>, %pos: tensor<?xi32>) -> tensor<?x128256xf32> {
    %x = greta.embedding %tokens, @token_embd : tensor<?xi32> -> tensor<?x4096xf32>
    %n = greta.rms_norm %x, @blk0_attn_norm eps = 1.0e-5 : tensor<?x4096xf32>
    %q = greta.matmul %n, @blk0_attn_q : tensor<?x4096xf32> -> tensor<?x4096xf32>
    %k = greta.matmul %n, @blk0_attn_k : tensor<?x4096xf32> -> tensor<?x1024xf32>
    %v = greta.matmul %n, @blk0_attn_v : tensor<?x4096xf32> -> tensor<?x1024xf32>
    %qr = greta.rope %q, %pos heads = 32 head_dim = 128 theta = 5.0e5 freqs = @rope_freqs
            : tensor<?x4096xf32>, tensor<?xi32>
    %kr = greta.rope %k, %pos heads = 8 head_dim = 128 theta = 5.0e5 freqs = @rope_freqs
            : tensor<?x1024xf32>, tensor<?xi32>
    greta.kv_append %kr, %v, %pos into @kv0 : tensor<?x1024xf32>, tensor<?xi32>
    %a = greta.attention %qr, %pos from @kv0 heads = 32 kv_heads = 8 causal
           : tensor<?x4096xf32>, tensor<?xi32>
    %o = greta.matmul %a, @blk0_attn_output : tensor<?x4096xf32> -> tensor<?x4096xf32>
    %h = greta.add %x, %o : tensor<?x4096xf32>
    %n2 = greta.rms_norm %h, @blk0_ffn_norm eps = 1.0e-5 : tensor<?x4096xf32>
    %g = greta.matmul %n2, @blk0_ffn_gate : tensor<?x4096xf32> -> tensor<?x14336xf32>
    %u = greta.matmul %n2, @blk0_ffn_up : tensor<?x4096xf32> -> tensor<?x14336xf32>
    %gu = greta.silu_mul %g, %u : tensor<?x14336xf32>
    %d = greta.matmul %gu, @blk0_ffn_down : tensor<?x14336xf32> -> tensor<?x4096xf32>
    %h2 = greta.add %h, %d : tensor<?x4096xf32>
    %f = greta.rms_norm %h2, @output_norm eps = 1.0e-5 : tensor<?x4096xf32>
    %logits = greta.lm_head %f, @output : tensor<?x4096xf32> -> tensor<?x128256xf32>
    return %logits : tensor<?x128256xf32>
  }
}

// -----

// Tests that the same layer in the form the pipeline produces before lowering (specialised
// into a decode phase with static shapes, audited, fused, routed) verifies and round-trips.
module attributes {greta.model = #greta.model<layers = 1, dim = 4096, heads = 32, kv_heads = 8,
    ffn = 14336, vocab = 128256, context = 8192, rope_theta = 5.0e5, eps = 1.0e-5, tied = true>} {
  greta.weight @token_embd : !greta.weight<4096x128256, q4_k> {gguf_name = "token_embd.weight"}
  greta.weight @blk0_attn_norm : !greta.weight<4096, f32> {gguf_name = "blk.0.attn_norm.weight"}
  greta.weight @blk0_attn_q : !greta.weight<4096x4096, q4_k> {gguf_name = "blk.0.attn_q.weight"}
  greta.weight @blk0_attn_k : !greta.weight<4096x1024, q4_k> {gguf_name = "blk.0.attn_k.weight"}
  greta.weight @blk0_attn_v : !greta.weight<4096x1024, q4_k> {gguf_name = "blk.0.attn_v.weight"}
  greta.weight @blk0_attn_output : !greta.weight<4096x4096, q4_k> {gguf_name = "blk.0.attn_output.weight"}
  greta.weight @blk0_ffn_norm : !greta.weight<4096, f32> {gguf_name = "blk.0.ffn_norm.weight"}
  greta.weight @blk0_ffn_gate : !greta.weight<4096x14336, q4_k> {gguf_name = "blk.0.ffn_gate.weight"}
  greta.weight @blk0_ffn_up : !greta.weight<4096x14336, q4_k> {gguf_name = "blk.0.ffn_up.weight"}
  greta.weight @blk0_ffn_down : !greta.weight<14336x4096, q4_k> {gguf_name = "blk.0.ffn_down.weight"}
  greta.weight @output_norm : !greta.weight<4096, f32> {gguf_name = "output_norm.weight"}
  greta.kv_cache @kv0 : !greta.kv<ctx = 8192, kv_heads = 8, head_dim = 128, dtype = f16>

  // CHECK-LABEL: func.func @decode
  // CHECK-SAME: attributes {greta.phase = #greta<phase decode>}
  // CHECK: greta.matmul %{{.*}}, @blk0_attn_q rms_norm(@blk0_attn_norm, eps = {{.*}}) route gemv
  // CHECK: greta.rope_kv_append
  // CHECK: greta.attention
  // CHECK: greta.matmul %{{.*}}, @blk0_attn_output residual_add
  // CHECK: greta.matmul %{{.*}}, @blk0_ffn_gate rms_norm(@blk0_ffn_norm, eps = {{.*}}) silu_mul(@blk0_ffn_up) route gemv
  // CHECK: greta.matmul %{{.*}}, @blk0_ffn_down residual_add
  // CHECK: %[[F:.*]] = greta.rms_norm %{{.*}}, @output_norm
  // CHECK: %[[FA:.*]] = greta.audit final_rmsnorm %[[F]] : tensor<1x4096xf32>
  // CHECK: %[[L:.*]] = greta.lm_head %[[FA]], @token_embd route gemv : tensor<1x4096xf32> -> tensor<1x128256xf32>
  // CHECK: %[[LA:.*]] = greta.audit lm_head %[[L]]
  // CHECK: return %[[LA]]
  func.func @decode(%tokens: tensor<1xi32>, %pos: tensor<1xi32>) -> tensor<1x128256xf32>
      attributes {greta.phase = #greta<phase decode>} {
    %x = greta.embedding %tokens, @token_embd : tensor<1xi32> -> tensor<1x4096xf32>
    %q = greta.matmul %x, @blk0_attn_q rms_norm(@blk0_attn_norm, eps = 1.0e-5) route gemv
           : tensor<1x4096xf32> -> tensor<1x4096xf32>
    %k = greta.matmul %x, @blk0_attn_k rms_norm(@blk0_attn_norm, eps = 1.0e-5) route gemv
           : tensor<1x4096xf32> -> tensor<1x1024xf32>
    %v = greta.matmul %x, @blk0_attn_v rms_norm(@blk0_attn_norm, eps = 1.0e-5) route gemv
           : tensor<1x4096xf32> -> tensor<1x1024xf32>
    %qr = greta.rope_kv_append %q, %k, %v, %pos into @kv0 heads = 32 theta = 5.0e5
            : tensor<1x4096xf32>, tensor<1x1024xf32>, tensor<1xi32>
    %a = greta.attention %qr, %pos from @kv0 heads = 32 kv_heads = 8 causal
           : tensor<1x4096xf32>, tensor<1xi32>
    %h = greta.matmul %a, @blk0_attn_output residual_add(%x : tensor<1x4096xf32>) route gemv
           : tensor<1x4096xf32> -> tensor<1x4096xf32>
    %gu = greta.matmul %h, @blk0_ffn_gate rms_norm(@blk0_ffn_norm, eps = 1.0e-5)
            silu_mul(@blk0_ffn_up) route gemv : tensor<1x4096xf32> -> tensor<1x14336xf32>
    %h2 = greta.matmul %gu, @blk0_ffn_down residual_add(%h : tensor<1x4096xf32>) route gemv
            : tensor<1x14336xf32> -> tensor<1x4096xf32>
    %f = greta.rms_norm %h2, @output_norm eps = 1.0e-5 : tensor<1x4096xf32>
    %fa = greta.audit final_rmsnorm %f : tensor<1x4096xf32>
    %logits = greta.lm_head %fa, @token_embd route gemv : tensor<1x4096xf32> -> tensor<1x128256xf32>
    %la = greta.audit lm_head %logits : tensor<1x128256xf32>
    return %la : tensor<1x128256xf32>
  }
}
