// RUN: greta-opt %s --split-input-file | greta-opt --split-input-file | FileCheck %s
// RUN: greta-opt %s --split-input-file --mlir-print-op-generic | greta-opt --split-input-file | FileCheck %s

// Tests that the fused residual add + RMSNorm returns both the sum and the normalised value.
greta.weight @ffn_norm : !greta.weight<4096, f32> {gguf_name = "blk.0.ffn_norm.weight"}
// CHECK-LABEL: func.func @add_rms_norm
// CHECK-SAME: (%[[X:.*]]: tensor<?x4096xf32>, %[[A:.*]]: tensor<?x4096xf32>)
// CHECK: %[[S:.*]], %[[N:.*]] = greta.add_rms_norm %[[X]], %[[A]], @ffn_norm eps = 9.99999974E-6 : tensor<?x4096xf32>
// CHECK: return %[[S]], %[[N]]
func.func @add_rms_norm(%x: tensor<?x4096xf32>, %attn: tensor<?x4096xf32>)
    -> (tensor<?x4096xf32>, tensor<?x4096xf32>) {
  %s, %n = greta.add_rms_norm %x, %attn, @ffn_norm eps = 1.0e-5 : tensor<?x4096xf32>
  return %s, %n : tensor<?x4096xf32>, tensor<?x4096xf32>
}

// -----

// Tests that a matmul carries an RMSNorm prologue over its K-long input rows.
greta.weight @attn_norm : !greta.weight<4096, f32> {gguf_name = "blk.0.attn_norm.weight"}
greta.weight @wq : !greta.weight<4096x4096, q4_k> {gguf_name = "blk.0.attn_q.weight"}
// CHECK-LABEL: func.func @norm_prologue
// CHECK: greta.matmul %{{.*}}, @wq rms_norm(@attn_norm, eps = 9.99999974E-6) route gemv : tensor<1x4096xf32> -> tensor<1x4096xf32>
func.func @norm_prologue(%x: tensor<1x4096xf32>) -> tensor<1x4096xf32> {
  %q = greta.matmul %x, @wq rms_norm(@attn_norm, eps = 1.0e-5) route gemv
         : tensor<1x4096xf32> -> tensor<1x4096xf32>
  return %q : tensor<1x4096xf32>
}

// -----

// Tests that a matmul carries a residual-add epilogue.
greta.weight @wo : !greta.weight<4096x4096, q4_k> {gguf_name = "blk.0.attn_output.weight"}
// CHECK-LABEL: func.func @residual_epilogue
// CHECK-SAME: (%[[A:.*]]: tensor<?x4096xf32>, %[[X:.*]]: tensor<?x4096xf32>)
// CHECK: greta.matmul %[[A]], @wo residual_add(%[[X]] : tensor<?x4096xf32>) : tensor<?x4096xf32> -> tensor<?x4096xf32>
func.func @residual_epilogue(%a: tensor<?x4096xf32>, %x: tensor<?x4096xf32>) -> tensor<?x4096xf32> {
  %o = greta.matmul %a, @wo residual_add(%x : tensor<?x4096xf32>)
         : tensor<?x4096xf32> -> tensor<?x4096xf32>
  return %o : tensor<?x4096xf32>
}

// -----

// Tests that the gate/up pair fuses into one matmul with a SiLU-mul epilogue, an RMSNorm
// prologue and a route together.
greta.weight @ffn_norm : !greta.weight<4096, f32> {gguf_name = "blk.0.ffn_norm.weight"}
greta.weight @ffn_gate : !greta.weight<4096x14336, q4_k> {gguf_name = "blk.0.ffn_gate.weight"}
greta.weight @ffn_up : !greta.weight<4096x14336, q4_k> {gguf_name = "blk.0.ffn_up.weight"}
// CHECK-LABEL: func.func @gate_up
// CHECK: greta.matmul %{{.*}}, @ffn_gate rms_norm(@ffn_norm, eps = 9.99999974E-6) silu_mul(@ffn_up) route gemm : tensor<?x4096xf32> -> tensor<?x14336xf32>
func.func @gate_up(%h: tensor<?x4096xf32>) -> tensor<?x14336xf32> {
  %g = greta.matmul %h, @ffn_gate rms_norm(@ffn_norm, eps = 1.0e-5) silu_mul(@ffn_up) route gemm
         : tensor<?x4096xf32> -> tensor<?x14336xf32>
  return %g : tensor<?x14336xf32>
}

// -----

// Tests that RoPE of queries and keys fuses with the KV-cache append, with and without the
// frequency vector.
greta.kv_cache @kv0 : !greta.kv<ctx = 8192, kv_heads = 8, head_dim = 128, dtype = f16>
greta.weight @rope_freqs : !greta.weight<64, f32> {gguf_name = "rope_freqs.weight"}
// CHECK-LABEL: func.func @rope_kv_append
// CHECK-SAME: (%[[Q:.*]]: tensor<?x4096xf32>, %[[K:.*]]: tensor<?x1024xf32>, %[[V:.*]]: tensor<?x1024xf32>, %[[P:.*]]: tensor<?xi32>)
// CHECK: greta.rope_kv_append %[[Q]], %[[K]], %[[V]], %[[P]] into @kv0 heads = 32 theta = 5.000000e+05 : tensor<?x4096xf32>, tensor<?x1024xf32>, tensor<?xi32>
// CHECK: greta.rope_kv_append %[[Q]], %[[K]], %[[V]], %[[P]] into @kv0 heads = 32 theta = 5.000000e+05 freqs = @rope_freqs : tensor<?x4096xf32>, tensor<?x1024xf32>, tensor<?xi32>
func.func @rope_kv_append(%q: tensor<?x4096xf32>, %k: tensor<?x1024xf32>, %v: tensor<?x1024xf32>,
                          %pos: tensor<?xi32>) {
  %0 = greta.rope_kv_append %q, %k, %v, %pos into @kv0 heads = 32 theta = 5.0e5
         : tensor<?x4096xf32>, tensor<?x1024xf32>, tensor<?xi32>
  %1 = greta.rope_kv_append %q, %k, %v, %pos into @kv0 heads = 32 theta = 5.0e5 freqs = @rope_freqs
         : tensor<?x4096xf32>, tensor<?x1024xf32>, tensor<?xi32>
  return
}
