// RUN: greta-opt %s --split-input-file | greta-opt --split-input-file | FileCheck %s
// RUN: greta-opt %s --split-input-file --mlir-print-op-generic | greta-opt --split-input-file | FileCheck %s

// Tests that weight symbols round-trip with their GGUF name and optional device policy.
// CHECK: greta.weight @token_embd : !greta.weight<4096x128256, q4_k> {gguf_name = "token_embd.weight"}
// CHECK: greta.weight @output : !greta.weight<4096x128256, q6_k> {gguf_name = "output.weight", policy = #greta<policy fp16>}
// CHECK: greta.weight @attn_norm : !greta.weight<4096, f32> {gguf_name = "blk.0.attn_norm.weight", policy = #greta<policy keep>}
greta.weight @token_embd : !greta.weight<4096x128256, q4_k> {gguf_name = "token_embd.weight"}
greta.weight @output : !greta.weight<4096x128256, q6_k>
    {gguf_name = "output.weight", policy = #greta<policy fp16>}
greta.weight @attn_norm : !greta.weight<4096, f32>
    {gguf_name = "blk.0.attn_norm.weight", policy = #greta<policy keep>}

// -----

// Tests that a KV-cache symbol round-trips.
// CHECK: greta.kv_cache @kv0 : !greta.kv<ctx = 8192, kv_heads = 8, head_dim = 128, dtype = f16>
greta.kv_cache @kv0 : !greta.kv<ctx = 8192, kv_heads = 8, head_dim = 128, dtype = f16>

// -----

// Tests that an embedding lookup maps token ids to rows of the table's width.
greta.weight @token_embd : !greta.weight<64x256, q8_0> {gguf_name = "token_embd.weight"}
// CHECK-LABEL: func.func @embedding
// CHECK-SAME: (%[[TOK:.*]]: tensor<?xi32>)
// CHECK: greta.embedding %[[TOK]], @token_embd : tensor<?xi32> -> tensor<?x64xf32>
func.func @embedding(%tokens: tensor<?xi32>) -> tensor<?x64xf32> {
  %x = greta.embedding %tokens, @token_embd : tensor<?xi32> -> tensor<?x64xf32>
  return %x : tensor<?x64xf32>
}

// -----

// Tests that RMSNorm round-trips with its weight vector and epsilon, static or dynamic rows.
greta.weight @attn_norm : !greta.weight<64, f32> {gguf_name = "blk.0.attn_norm.weight"}
// CHECK-LABEL: func.func @rms_norm
// CHECK: greta.rms_norm %{{.*}}, @attn_norm eps = 9.99999974E-6 : tensor<?x64xf32>
// CHECK: greta.rms_norm %{{.*}}, @attn_norm eps = 1.000000e-01 : tensor<1x64xf32>
func.func @rms_norm(%x: tensor<?x64xf32>, %y: tensor<1x64xf32>) -> (tensor<?x64xf32>, tensor<1x64xf32>) {
  %0 = greta.rms_norm %x, @attn_norm eps = 1.0e-5 : tensor<?x64xf32>
  %1 = greta.rms_norm %y, @attn_norm eps = 0.1 : tensor<1x64xf32>
  return %0, %1 : tensor<?x64xf32>, tensor<1x64xf32>
}

// -----

// Tests that a matmul maps K to N, with and without a route.
greta.weight @wq : !greta.weight<64x32, q8_0> {gguf_name = "blk.0.attn_q.weight"}
// CHECK-LABEL: func.func @matmul
// CHECK: greta.matmul %{{.*}}, @wq : tensor<?x64xf32> -> tensor<?x32xf32>
// CHECK: greta.matmul %{{.*}}, @wq route gemv : tensor<1x64xf32> -> tensor<1x32xf32>
// CHECK: greta.matmul %{{.*}}, @wq route gemm : tensor<?x64xf32> -> tensor<?x32xf32>
func.func @matmul(%x: tensor<?x64xf32>, %y: tensor<1x64xf32>) {
  %0 = greta.matmul %x, @wq : tensor<?x64xf32> -> tensor<?x32xf32>
  %1 = greta.matmul %y, @wq route gemv : tensor<1x64xf32> -> tensor<1x32xf32>
  %2 = greta.matmul %x, @wq route gemm : tensor<?x64xf32> -> tensor<?x32xf32>
  return
}

// -----

// Tests that RoPE round-trips with and without the Llama-3.1 frequency vector.
greta.weight @rope_freqs : !greta.weight<64, f32> {gguf_name = "rope_freqs.weight"}
// CHECK-LABEL: func.func @rope
// CHECK: greta.rope %{{.*}}, %{{.*}} heads = 32 head_dim = 128 theta = 5.000000e+05 : tensor<?x4096xf32>, tensor<?xi32>
// CHECK: greta.rope %{{.*}}, %{{.*}} heads = 8 head_dim = 128 theta = 5.000000e+05 freqs = @rope_freqs : tensor<?x1024xf32>, tensor<?xi32>
func.func @rope(%q: tensor<?x4096xf32>, %k: tensor<?x1024xf32>, %pos: tensor<?xi32>) {
  %0 = greta.rope %q, %pos heads = 32 head_dim = 128 theta = 5.0e5 : tensor<?x4096xf32>, tensor<?xi32>
  %1 = greta.rope %k, %pos heads = 8 head_dim = 128 theta = 5.0e5 freqs = @rope_freqs
         : tensor<?x1024xf32>, tensor<?xi32>
  return
}

// -----

// Tests that kv_append writes keys and values into a cache (and, having an effect, survives
// with no uses).
greta.kv_cache @kv0 : !greta.kv<ctx = 8192, kv_heads = 8, head_dim = 128, dtype = f16>
// CHECK-LABEL: func.func @kv_append
// CHECK-SAME: (%[[K:.*]]: tensor<?x1024xf32>, %[[V:.*]]: tensor<?x1024xf32>, %[[P:.*]]: tensor<?xi32>)
// CHECK: greta.kv_append %[[K]], %[[V]], %[[P]] into @kv0 : tensor<?x1024xf32>, tensor<?xi32>
func.func @kv_append(%k: tensor<?x1024xf32>, %v: tensor<?x1024xf32>, %pos: tensor<?xi32>) {
  greta.kv_append %k, %v, %pos into @kv0 : tensor<?x1024xf32>, tensor<?xi32>
  return
}

// -----

// Tests that grouped-query attention round-trips with its causal flag and optional scale.
greta.kv_cache @kv0 : !greta.kv<ctx = 8192, kv_heads = 8, head_dim = 128, dtype = f16>
// CHECK-LABEL: func.func @attention
// CHECK: greta.attention %{{.*}}, %{{.*}} from @kv0 heads = 32 kv_heads = 8 causal : tensor<?x4096xf32>, tensor<?xi32>
// CHECK: greta.attention %{{.*}}, %{{.*}} from @kv0 heads = 32 kv_heads = 8 scale = 1.250000e-01 : tensor<1x4096xf32>, tensor<1xi32>
func.func @attention(%q: tensor<?x4096xf32>, %pos: tensor<?xi32>, %q1: tensor<1x4096xf32>, %pos1: tensor<1xi32>) {
  %0 = greta.attention %q, %pos from @kv0 heads = 32 kv_heads = 8 causal
         : tensor<?x4096xf32>, tensor<?xi32>
  %1 = greta.attention %q1, %pos1 from @kv0 heads = 32 kv_heads = 8 scale = 0.125
         : tensor<1x4096xf32>, tensor<1xi32>
  return
}

// -----

// Tests that the element-wise ops round-trip.
// CHECK-LABEL: func.func @elementwise
// CHECK-SAME: (%[[A:.*]]: tensor<?x64xf32>, %[[B:.*]]: tensor<?x64xf32>)
// CHECK: %[[H:.*]] = greta.silu_mul %[[A]], %[[B]] : tensor<?x64xf32>
// CHECK: greta.add %[[H]], %[[A]] : tensor<?x64xf32>
func.func @elementwise(%a: tensor<?x64xf32>, %b: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %h = greta.silu_mul %a, %b : tensor<?x64xf32>
  %s = greta.add %h, %a : tensor<?x64xf32>
  return %s : tensor<?x64xf32>
}

// -----

// Tests that the LM head projects all rows, or only the last one (prefill) with a route.
greta.weight @output : !greta.weight<64x256, q8_0> {gguf_name = "output.weight"}
// CHECK-LABEL: func.func @lm_head
// CHECK: greta.lm_head %{{.*}}, @output : tensor<?x64xf32> -> tensor<?x256xf32>
// CHECK: greta.lm_head %{{.*}}, @output last_only route gemm : tensor<?x64xf32> -> tensor<1x256xf32>
// CHECK: greta.lm_head %{{.*}}, @output route gemv : tensor<1x64xf32> -> tensor<1x256xf32>
func.func @lm_head(%x: tensor<?x64xf32>, %y: tensor<1x64xf32>) {
  %0 = greta.lm_head %x, @output : tensor<?x64xf32> -> tensor<?x256xf32>
  %1 = greta.lm_head %x, @output last_only route gemm : tensor<?x64xf32> -> tensor<1x256xf32>
  %2 = greta.lm_head %y, @output route gemv : tensor<1x64xf32> -> tensor<1x256xf32>
  return
}

// -----

// Tests that audits of every point round-trip, and that an audit whose result is unused is
// kept (it writes the audit record).
// CHECK-LABEL: func.func @audit
// CHECK-SAME: (%[[X:.*]]: tensor<1x64xf32>, %[[L:.*]]: tensor<1x256xf32>)
// CHECK: %[[N:.*]] = greta.audit final_rmsnorm %[[X]] : tensor<1x64xf32>
// CHECK: greta.audit lm_head %[[L]] : tensor<1x256xf32>
// CHECK: greta.audit layer_output %[[N]] layer 3 : tensor<1x64xf32>
func.func @audit(%x: tensor<1x64xf32>, %logits: tensor<1x256xf32>) -> tensor<1x64xf32> {
  %n = greta.audit final_rmsnorm %x : tensor<1x64xf32>
  %l = greta.audit lm_head %logits : tensor<1x256xf32>
  %h = greta.audit layer_output %n layer 3 : tensor<1x64xf32>
  return %n : tensor<1x64xf32>
}
