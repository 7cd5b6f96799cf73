// RUN: greta-opt %s --split-input-file | greta-opt --split-input-file | FileCheck %s
// RUN: greta-opt %s --split-input-file --mlir-print-op-generic | greta-opt --split-input-file | FileCheck %s

// Tests that buffers of every kind round-trip, sized by shape or by bytes, with a weight
// buffer naming its greta.weight.
greta.weight @blk0_attn_q : !greta.weight<4096x4096, q4_k> {gguf_name = "blk.0.attn_q.weight"}
// CHECK: #[[ROWS:.*]] = affine_map<(d0) -> (d0, 4096)>
// CHECK: #[[SEQ:.*]] = affine_map<(d0) -> (d0)>
// CHECK: #[[KV:.*]] = affine_map<(d0)[s0] -> (s0, 1024)>
// CHECK: #[[LAST:.*]] = affine_map<(d0) -> (1, 128256)>
// CHECK: gk.buffer @hidden activation shape(#[[ROWS]], f32)
// CHECK: gk.buffer @tokens input shape(#[[SEQ]], i32)
// CHECK: gk.buffer @wq weight bytes(9437184) source(@blk0_attn_q)
// CHECK: gk.buffer @kv0_k kv shape(#[[KV]], f16)
// CHECK: gk.buffer @logits logits shape(#[[LAST]], f32)
// CHECK: gk.buffer @audit_final audit bytes(256)
gk.buffer @hidden activation shape(affine_map<(s) -> (s, 4096)>, f32)
gk.buffer @tokens input shape(affine_map<(s) -> (s)>, i32)
gk.buffer @wq weight bytes(9437184) source(@blk0_attn_q)
gk.buffer @kv0_k kv shape(affine_map<(s)[ctx] -> (ctx, 1024)>, f16)
gk.buffer @logits logits shape(affine_map<(s) -> (1, 128256)>, f32)
gk.buffer @audit_final audit bytes(256)

// -----

// Tests that tile attributes round-trip, printing only the sizes that are not 1.
// CHECK: module attributes {
// CHECK-SAME: a.all = #gk.tiles<tile_m = 64, tile_n = 128, tile_k = 32, split_k = 2>
// CHECK-SAME: a.none = #gk.tiles<>
// CHECK-SAME: a.some = #gk.tiles<tile_n = 4, split_k = 8>
module attributes {a.all = #gk.tiles<tile_m = 64, tile_n = 128, tile_k = 32, split_k = 2>,
                   a.none = #gk.tiles<>, a.some = #gk.tiles<tile_m = 1, tile_n = 4, split_k = 8>} {
}

// -----

// Tests that a kernel of every family (and every route) round-trips with its buffer kinds.
// CHECK: gk.kernel @embedding embedding(input, weight, activation) quant q8_0
// CHECK: gk.kernel @rms_norm rms_norm(activation, weight, activation) params {eps = 9.99999974E-6 : f32}
// CHECK: gk.kernel @add_rms_norm add_rms_norm(activation, activation, weight, activation, activation)
// CHECK: gk.kernel @matmul_gemv matmul(activation, weight, activation) route gemv quant q4_k
// CHECK: gk.kernel @matmul_gemm matmul(activation, weight, activation) route gemm quant q4_k tiles<tile_m = 64, tile_n = 64, tile_k = 32>
// CHECK: gk.kernel @rope rope(activation, input) params {head_dim = 128 : i64, heads = 32 : i64}
// CHECK: gk.kernel @kv_append kv_append(activation, activation, input, kv, kv)
// CHECK: gk.kernel @rope_kv_append rope_kv_append(activation, activation, activation, input, kv, kv)
// CHECK: gk.kernel @attention_decode attention(activation, kv, kv, input, activation) route split_kv tiles<split_k = 16>
// CHECK: gk.kernel @attention_prefill attention(activation, kv, kv, input, activation) route flash tiles<tile_m = 64, tile_n = 64>
// CHECK: gk.kernel @silu_mul silu_mul(activation, activation, activation)
// CHECK: gk.kernel @add add(activation, activation, activation)
// CHECK: gk.kernel @lm_head_gemv lm_head(activation, weight, logits) route gemv quant q6_k tiles<tile_n = 8, tile_k = 256, split_k = 2>
// CHECK: gk.kernel @lm_head_gemm lm_head(activation, weight, logits) route gemm quant f16 tiles<tile_m = 16, tile_n = 128, tile_k = 64>
// CHECK: gk.kernel @audit_stats audit_stats(activation, audit)
// CHECK: gk.kernel @audit_logits audit_stats(logits, audit)
gk.kernel @embedding embedding(input, weight, activation) quant q8_0
gk.kernel @rms_norm rms_norm(activation, weight, activation) params {eps = 1.0e-5 : f32}
gk.kernel @add_rms_norm add_rms_norm(activation, activation, weight, activation, activation)
gk.kernel @matmul_gemv matmul(activation, weight, activation) route gemv quant q4_k
gk.kernel @matmul_gemm matmul(activation, weight, activation) route gemm quant q4_k tiles<tile_m = 64, tile_n = 64, tile_k = 32>
gk.kernel @rope rope(activation, input) params {heads = 32 : i64, head_dim = 128 : i64}
gk.kernel @kv_append kv_append(activation, activation, input, kv, kv)
gk.kernel @rope_kv_append rope_kv_append(activation, activation, activation, input, kv, kv)
gk.kernel @attention_decode attention(activation, kv, kv, input, activation) route split_kv tiles<split_k = 16>
gk.kernel @attention_prefill attention(activation, kv, kv, input, activation) route flash tiles<tile_m = 64, tile_n = 64>
gk.kernel @silu_mul silu_mul(activation, activation, activation)
gk.kernel @add add(activation, activation, activation)
gk.kernel @lm_head_gemv lm_head(activation, weight, logits) route gemv quant q6_k tiles<tile_n = 8, tile_k = 256, split_k = 2>
gk.kernel @lm_head_gemm lm_head(activation, weight, logits) route gemm quant f16 tiles<tile_m = 16, tile_n = 128, tile_k = 64>
gk.kernel @audit_stats audit_stats(activation, audit)
gk.kernel @audit_logits audit_stats(logits, audit)

// -----

// Tests that a fused gate/up kernel carries an RMSNorm prologue (adding the norm weight to its
// buffers) and its SiLU-mul epilogue as element-wise arith/math bodies.
// CHECK-LABEL: gk.kernel @decode_ffn_gate_up matmul_gate_up(activation, weight, weight, activation, weight) route gemv quant q4_k
// CHECK-SAME: params {k = 4096 : i64, n = 14336 : i64}
// CHECK-SAME: prologue {
// CHECK-NEXT: ^bb0(%[[X:.*]]: f32, %[[GAMMA:.*]]: f32, %[[INV:.*]]: f32):
// CHECK-NEXT:   %[[T:.*]] = arith.mulf %[[X]], %[[INV]] : f32
// CHECK-NEXT:   %[[Y:.*]] = arith.mulf %[[T]], %[[GAMMA]] : f32
// CHECK-NEXT:   gk.yield %[[Y]] : f32
// CHECK-NEXT: } epilogue {
// CHECK-NEXT: ^bb0(%[[G:.*]]: f32, %[[U:.*]]: f32):
// CHECK: math.exp
// CHECK: arith.divf %[[G]]
// CHECK: %[[R:.*]] = arith.mulf %{{.*}}, %[[U]] : f32
// CHECK-NEXT: gk.yield %[[R]] : f32
gk.kernel @decode_ffn_gate_up matmul_gate_up(activation, weight, weight, activation, weight)
    route gemv quant q4_k tiles<tile_n = 4, tile_k = 256, split_k = 4> params {k = 4096 : i64, n = 14336 : i64}
    prologue {
    ^bb0(%x: f32, %gamma: f32, %inv_rms: f32):
      %0 = arith.mulf %x, %inv_rms : f32
      %1 = arith.mulf %0, %gamma : f32
      gk.yield %1 : f32
    } epilogue {
    ^bb0(%gate: f32, %up: f32):
      %one = arith.constant 1.0 : f32
      %neg = arith.negf %gate : f32
      %exp = math.exp %neg : f32
      %den = arith.addf %exp, %one : f32
      %silu = arith.divf %gate, %den : f32
      %y = arith.mulf %silu, %up : f32
      gk.yield %y : f32
    }

// -----

// Tests that a matmul kernel carries a residual-add epilogue only (adding the residual to its
// buffers).
// CHECK-LABEL: gk.kernel @prefill_attn_output matmul(activation, weight, activation, activation) route gemm
// CHECK-NOT: prologue
// CHECK-SAME: epilogue {
// CHECK-NEXT: ^bb0(%[[ACC:.*]]: f32, %[[RES:.*]]: f32):
// CHECK-NEXT: %[[S:.*]] = arith.addf %[[ACC]], %[[RES]] : f32
// CHECK-NEXT: gk.yield %[[S]] : f32
gk.kernel @prefill_attn_output matmul(activation, weight, activation, activation) route gemm
    quant q4_k tiles<tile_m = 64, tile_n = 64, tile_k = 32> epilogue {
    ^bb0(%acc: f32, %res: f32):
      %s = arith.addf %acc, %res : f32
      gk.yield %s : f32
    }

// -----

// Tests that per-phase plans round-trip with ordered launches and audit launches, grids as
// functions of the sequence length.
greta.weight @attn_norm : !greta.weight<64, f32> {gguf_name = "blk.0.attn_norm.weight"}
greta.weight @token_embd : !greta.weight<64x256, q8_0> {gguf_name = "token_embd.weight"}
gk.buffer @tokens input shape(affine_map<(s) -> (s)>, i32)
gk.buffer @hidden activation shape(affine_map<(s) -> (s, 64)>, f32)
gk.buffer @normed activation shape(affine_map<(s) -> (s, 64)>, f32)
gk.buffer @w_norm weight bytes(256) source(@attn_norm)
gk.buffer @w_embd weight bytes(17408) source(@token_embd)
gk.buffer @logits logits shape(affine_map<(s) -> (1, 256)>, f32)
gk.buffer @audit_final audit bytes(256)
gk.buffer @audit_layer audit bytes(256)
gk.buffer @audit_logits audit bytes(256)
gk.kernel @embed embedding(input, weight, activation) quant q8_0
gk.kernel @norm rms_norm(activation, weight, activation) params {eps = 1.0e-5 : f32}
gk.kernel @head lm_head(activation, weight, logits) route gemv quant q8_0 tiles<tile_n = 4, tile_k = 64, split_k = 2>
gk.kernel @stats audit_stats(activation, audit)
gk.kernel @logit_stats audit_stats(logits, audit)
// CHECK: #[[ROWS:.*]] = affine_map<(d0) -> (d0)>
// CHECK: #[[ONE:.*]] = affine_map<(d0) -> (1)>
// CHECK: #[[HEAD:.*]] = affine_map<(d0) -> (64, 2)>
// CHECK: #[[TILED:.*]] = affine_map<(d0) -> (d0 ceildiv 64, 1)>
// CHECK-LABEL: gk.plan @decode {
// CHECK-NEXT: gk.launch @embed(@tokens, @w_embd, @hidden) grid = #[[ROWS]]
// CHECK-NEXT: gk.launch @norm(@hidden, @w_norm, @normed) grid = #[[ROWS]]
// CHECK-NEXT: gk.audit_launch final_rmsnorm @stats(@normed, @audit_final) grid = #[[ONE]]
// CHECK-NEXT: gk.launch @head(@normed, @w_embd, @logits) grid = #[[HEAD]]
// CHECK-NEXT: gk.audit_launch lm_head @logit_stats(@logits, @audit_logits) grid = #[[ONE]]
// CHECK-NEXT: }
// CHECK-LABEL: gk.plan @prefill {
// CHECK-NEXT: gk.launch @embed(@tokens, @w_embd, @hidden) grid = #[[TILED]]
// CHECK-NEXT: gk.audit_launch layer_output @stats(@hidden, @audit_layer) layer 0 grid = #[[ONE]]
gk.plan @decode {
  gk.launch @embed(@tokens, @w_embd, @hidden) grid = affine_map<(s) -> (s)>
  gk.launch @norm(@hidden, @w_norm, @normed) grid = affine_map<(s) -> (s)>
  gk.audit_launch final_rmsnorm @stats(@normed, @audit_final) grid = affine_map<(s) -> (1)>
  gk.launch @head(@normed, @w_embd, @logits) grid = affine_map<(s) -> (64, 2)>
  gk.audit_launch lm_head @logit_stats(@logits, @audit_logits) grid = affine_map<(s) -> (1)>
}
gk.plan @prefill {
  gk.launch @embed(@tokens, @w_embd, @hidden) grid = affine_map<(s) -> (s ceildiv 64, 1)>
  gk.audit_launch layer_output @stats(@hidden, @audit_layer) layer 0 grid = affine_map<(s) -> (1)>
}
