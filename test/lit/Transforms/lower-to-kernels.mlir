// RUN: greta-opt %s --split-input-file --greta-lower-to-kernels | FileCheck %s

// Tests that a fused, routed decode layer becomes one kernel per distinct op (GEMV route with
// tiles and split-K from the sm_90 row of the tile table), the buffers it needs, and an ordered
// plan whose launches bind buffers in each family's argument order, with grids of the sequence
// length. The q, k and v GEMVs (one input, one prologue, one weight type) and the
// rope_kv_append that reads them are one matmul_qkv launch over their 64 + 32 + 32 rows.
module attributes {greta.model = #greta.model<layers = 1, dim = 64, heads = 4, kv_heads = 2,
    ffn = 128, vocab = 256, context = 128, rope_theta = 1.0e4, eps = 1.0e-5, tied = false>} {
  greta.weight @token_embd : !greta.weight<64x256, q8_0> {gguf_name = "token_embd.weight"}
  greta.weight @attn_norm : !greta.weight<64, f32> {gguf_name = "blk.0.attn_norm.weight"}
  greta.weight @wq : !greta.weight<64x64, q8_0> {gguf_name = "blk.0.attn_q.weight"}
  greta.weight @wk : !greta.weight<64x32, q8_0> {gguf_name = "blk.0.attn_k.weight"}
  greta.weight @wv : !greta.weight<64x32, q8_0> {gguf_name = "blk.0.attn_v.weight"}
  greta.weight @wo : !greta.weight<64x64, q8_0> {gguf_name = "blk.0.attn_output.weight"}
  greta.weight @ffn_norm : !greta.weight<64, f32> {gguf_name = "blk.0.ffn_norm.weight"}
  greta.weight @gate : !greta.weight<64x128, q8_0> {gguf_name = "blk.0.ffn_gate.weight"}
  greta.weight @up : !greta.weight<64x128, q8_0> {gguf_name = "blk.0.ffn_up.weight"}
  greta.weight @down : !greta.weight<128x64, q8_0> {gguf_name = "blk.0.ffn_down.weight"}
  greta.weight @output_norm : !greta.weight<64, f32> {gguf_name = "output_norm.weight"}
  greta.weight @output : !greta.weight<64x256, q8_0> {gguf_name = "output.weight"}
  greta.kv_cache @kv0 : !greta.kv<ctx = 128, kv_heads = 2, head_dim = 16, dtype = f32>

  // CHECK-DAG: #[[ROWS:map[0-9]*]] = affine_map<(d0) -> (d0)>
  // CHECK-DAG: #[[HIDDEN:map[0-9]*]] = affine_map<(d0) -> (d0, 64)>
  // CHECK-DAG: #[[KV:map[0-9]*]] = affine_map<(d0)[s0] -> (s0, 32)>
  // CHECK-DAG: #[[LOGITS:map[0-9]*]] = affine_map<(d0) -> (1, 256)>
  // Few rows: 8 per block (one per 32-wide warp), then K split into whole 32-value Q8_0 blocks
  // (2 of them in K = 64, 4 in K = 128) towards a wave of blocks over the device.
  // CHECK-DAG: #[[GEMV64:map[0-9]*]] = affine_map<(d0) -> (8, d0, 2)>
  // CHECK-DAG: #[[GEMV128:map[0-9]*]] = affine_map<(d0) -> (16, d0, 2)>
  // CHECK-DAG: #[[GEMVDOWN:map[0-9]*]] = affine_map<(d0) -> (8, d0, 4)>
  // Split-KV decode attention: a block per (KV head, row, split of the keys).
  // CHECK-DAG: #[[HEADS:map[0-9]*]] = affine_map<(d0) -> (2, d0, 32)>
  // CHECK-DAG: #[[LMHEAD:map[0-9]*]] = affine_map<(d0) -> (32, 1, 2)>
  // CHECK-DAG: #[[ONE:map[0-9]*]] = affine_map<(d0) -> (1)>
  // The phase function and the cache symbol are gone; the weights stay.
  // CHECK-NOT: func.func
  // CHECK-NOT: greta.kv_cache
  // CHECK: gk.buffer @tokens input shape(#[[ROWS]], i32)
  // CHECK-NEXT: gk.buffer @positions input shape(#[[ROWS]], i32)
  // CHECK-NEXT: gk.buffer @act.64.0 activation shape(#[[HIDDEN]], f32)
  // CHECK: gk.buffer @logits logits shape(#[[LOGITS]], f32)
  // CHECK-NEXT: gk.buffer @kv0.k kv shape(#[[KV]], f32)
  // CHECK-NEXT: gk.buffer @kv0.v kv shape(#[[KV]], f32)
  // CHECK-NEXT: gk.buffer @audit.final_rmsnorm audit bytes(64)
  // CHECK-NEXT: gk.buffer @audit.lm_head audit bytes(64)
  // 64 rows of 64 Q8_0 values: 2 blocks of 34 bytes each.
  // CHECK: gk.buffer @w.wq weight bytes(4352) source(@wq)
  // CHECK: gk.kernel @decode_embedding_q8_0_d64 embedding(input, weight, activation) quant q8_0
  // CHECK-SAME: params {block = 256 : i64, dim = 64 : i64, vocab = 256 : i64}
  // CHECK: gk.kernel @decode_matmul_qkv_q8_0_64x64_kv32_norm matmul_qkv(activation, weight, weight, weight, activation, activation, activation, input, kv, kv, weight)
  // CHECK-SAME: route gemv quant q8_0 tiles<tile_n = 8, tile_k = 32, split_k = 2>
  // CHECK-SAME: params {block = 256 : i64, eps = 9.99999974E-6 : f32, head_dim = 16 : i64, heads = 4 : i64, k = 64 : i64, kv_heads = 2 : i64, theta = 1.000000e+04 : f32}
  // CHECK-SAME: prologue {
  // CHECK-NEXT: ^bb0(%[[X:.*]]: f32, %[[GAMMA:.*]]: f32, %[[INV:.*]]: f32):
  // CHECK-NEXT: %[[T:.*]] = arith.mulf %[[X]], %[[INV]] : f32
  // CHECK-NEXT: %[[Y:.*]] = arith.mulf %[[T]], %[[GAMMA]] : f32
  // CHECK-NEXT: gk.yield %[[Y]] : f32
  // CHECK-NOT: gk.kernel @decode_matmul_q8_0_64x32
  // CHECK-NOT: rope_kv_append(
  // CHECK: gk.kernel @decode_attention_h4kv2d16 attention(activation, kv, kv, input, activation) route split_kv
  // CHECK-SAME: scale = 2.500000e-01 : f32
  // CHECK: gk.kernel @decode_matmul_q8_0_64x64_residual matmul(activation, weight, activation, activation)
  // CHECK-NOT: prologue
  // CHECK-SAME: epilogue {
  // CHECK-NEXT: ^bb0(%[[ACC:.*]]: f32, %[[RES:.*]]: f32):
  // CHECK-NEXT: %[[SUM:.*]] = arith.addf %[[ACC]], %[[RES]] : f32
  // CHECK-NEXT: gk.yield %[[SUM]] : f32
  // CHECK: gk.kernel @decode_matmul_gate_up_q8_0_64x128_norm matmul_gate_up(activation, weight, weight, activation, weight)
  // CHECK: } epilogue {
  // CHECK-NEXT: ^bb0(%[[G:.*]]: f32, %[[U:.*]]: f32):
  // CHECK: math.exp
  // CHECK: arith.divf %[[G]]
  // CHECK: arith.mulf %{{.*}}, %[[U]] : f32
  // CHECK: gk.kernel @decode_rms_norm_d64 rms_norm(activation, weight, activation)
  // CHECK: gk.kernel @decode_audit_stats_final_rmsnorm audit_stats(activation, audit)
  // CHECK-SAME: is_logits = false, n = 64 : i64, point = "final_rmsnorm"
  // CHECK: gk.kernel @decode_lm_head_q8_0_64x256 lm_head(activation, weight, logits) route gemv quant q8_0
  // CHECK: gk.kernel @decode_audit_stats_lm_head audit_stats(logits, audit)
  // CHECK-SAME: is_logits = true, n = 256 : i64, point = "lm_head"

  // CHECK-LABEL: gk.plan @decode {
  // CHECK-NEXT: gk.launch @decode_embedding_q8_0_d64(@tokens, @w.token_embd, @[[X0:act.64.0]]) grid = #[[ROWS]]
  // CHECK-NEXT: gk.launch @decode_matmul_qkv_q8_0_64x64_kv32_norm(@[[X0]], @w.wq, @w.wk, @w.wv, @[[Q:act.64.1]], @act.32.0, @act.32.1, @positions, @kv0.k, @kv0.v, @w.attn_norm) grid = #[[GEMV128]]
  // CHECK-NEXT: gk.launch @decode_attention_h4kv2d16(@[[Q]], @kv0.k, @kv0.v, @positions, @[[A:act.64.2]]) grid = #[[HEADS]]
  // The residual epilogue writes the sum over the residual stream, which dies there.
  // CHECK-NEXT: gk.launch @decode_matmul_q8_0_64x64_residual(@[[A]], @w.wo, @[[X0]], @[[X0]]) grid = #[[GEMV64]]
  // CHECK-NEXT: gk.launch @decode_matmul_gate_up_q8_0_64x128_norm(@[[X0]], @w.gate, @w.up, @[[GU:act.128.0]], @w.ffn_norm) grid = #[[GEMV128]]
  // CHECK-NEXT: gk.launch @decode_matmul_q8_0_128x64_residual(@[[GU]], @w.down, @[[X0]], @[[X0]]) grid = #[[GEMVDOWN]]
  // The audited norm gets its own buffer: the hidden state it came from stays readable.
  // CHECK-NEXT: gk.launch @decode_rms_norm_d64(@[[X0]], @w.output_norm, @[[F:act.64.[12]]]) grid = #[[ROWS]]
  // CHECK-NEXT: gk.audit_launch final_rmsnorm @decode_audit_stats_final_rmsnorm(@[[F]], @audit.final_rmsnorm) grid = #[[ONE]]
  // CHECK-NEXT: gk.launch @decode_lm_head_q8_0_64x256(@[[F]], @w.output, @logits) grid = #[[LMHEAD]]
  // CHECK-NEXT: gk.audit_launch lm_head @decode_audit_stats_lm_head(@logits, @audit.lm_head) grid = #[[ONE]]
  // CHECK-NEXT: }
  func.func @decode(%tokens: tensor<1xi32>, %pos: tensor<1xi32>) -> tensor<1x256xf32>
      attributes {greta.phase = #greta<phase decode>} {
    %x = greta.embedding %tokens, @token_embd : tensor<1xi32> -> tensor<1x64xf32>
    %q = greta.matmul %x, @wq rms_norm(@attn_norm, eps = 1.0e-5) route gemv
           : tensor<1x64xf32> -> tensor<1x64xf32>
    %k = greta.matmul %x, @wk rms_norm(@attn_norm, eps = 1.0e-5) route gemv
           : tensor<1x64xf32> -> tensor<1x32xf32>
    %v = greta.matmul %x, @wv rms_norm(@attn_norm, eps = 1.0e-5) route gemv
           : tensor<1x64xf32> -> tensor<1x32xf32>
    %qr = greta.rope_kv_append %q, %k, %v, %pos into @kv0 heads = 4 theta = 1.0e4
            : tensor<1x64xf32>, tensor<1x32xf32>, tensor<1xi32>
    %a = greta.attention %qr, %pos from @kv0 heads = 4 kv_heads = 2 causal
           : tensor<1x64xf32>, tensor<1xi32>
    %h = greta.matmul %a, @wo residual_add(%x : tensor<1x64xf32>) route gemv
           : tensor<1x64xf32> -> tensor<1x64xf32>
    %gu = greta.matmul %h, @gate rms_norm(@ffn_norm, eps = 1.0e-5) silu_mul(@up) route gemv
            : tensor<1x64xf32> -> tensor<1x128xf32>
    %h2 = greta.matmul %gu, @down residual_add(%h : tensor<1x64xf32>) route gemv
            : tensor<1x128xf32> -> tensor<1x64xf32>
    %f = greta.rms_norm %h2, @output_norm eps = 1.0e-5 : tensor<1x64xf32>
    %fa = greta.audit final_rmsnorm %f : tensor<1x64xf32>
    %logits = greta.lm_head %fa, @output route gemv : tensor<1x64xf32> -> tensor<1x256xf32>
    %la = greta.audit lm_head %logits : tensor<1x256xf32>
    return %la : tensor<1x256xf32>
  }
}

// -----

// Tests that prefill lowers to the matrix-unit GEMM route with (tile_m x tile_n) tiles, flash
// attention over query tiles, and an LM head on the last row only; grids divide the sequence
// length by the row tiles. Each GEMM reads binary16 operands: its input from x16.K, which a
// cast_f16 launch (a block per row) fills before it (q's, which k and v read too: nothing
// between them writes x or x16.64), and its weight from a scratch buffer
// that a dequant_f16 launch fills (one chunk of 8 values per thread: 64 x 64 / 8 / 256 = 2
// blocks); the scratch buffers, taken in turn, are sized for the largest matrix each holds. The LM head (one row)
// decodes its weights itself. The plan precedes the decode plan, whose kernels are
// separate.
module attributes {greta.model = #greta.model<layers = 1, dim = 64, heads = 4, kv_heads = 2,
    ffn = 128, vocab = 256, context = 128, rope_theta = 1.0e4, eps = 1.0e-5, tied = true>} {
  greta.weight @token_embd : !greta.weight<64x256, q8_0> {gguf_name = "token_embd.weight"}
  greta.weight @wq : !greta.weight<64x64, q8_0> {gguf_name = "blk.0.attn_q.weight"}
  greta.weight @wk : !greta.weight<64x32, q8_0> {gguf_name = "blk.0.attn_k.weight"}
  greta.weight @wv : !greta.weight<64x32, q8_0> {gguf_name = "blk.0.attn_v.weight"}
  greta.weight @output_norm : !greta.weight<64, f32> {gguf_name = "output_norm.weight"}
  greta.kv_cache @kv0 : !greta.kv<ctx = 128, kv_heads = 2, head_dim = 16, dtype = f32>

  // CHECK-DAG: #[[ROWS:map[0-9]*]] = affine_map<(d0) -> (d0)>
  // Row tiles first on binary16 weights: blocks that share a weight tile run together.
  // CHECK-DAG: #[[GEMM:map[0-9]*]] = affine_map<(d0) -> (d0 ceildiv 64, 1)>
  // CHECK-DAG: #[[FLASH:map[0-9]*]] = affine_map<(d0) -> (d0 ceildiv 64, 4)>
  // CHECK-DAG: #[[LMHEAD:map[0-9]*]] = affine_map<(d0) -> (2, 1)>
  // CHECK-DAG: #[[DECODE_GEMV:map[0-9]*]] = affine_map<(d0) -> (16, d0, 2)>
  // CHECK-DAG: #[[SCRATCH:map[0-9]*]] = affine_map<(d0) -> (1, 4096)>
  // CHECK-DAG: #[[DEQUANT:map[0-9]*]] = affine_map<(d0) -> (2)>
  // CHECK: gk.buffer @x16.64 activation shape(#[[ROWS64:map[0-9]*]], f16)
  // CHECK: gk.buffer @w16.0 scratch shape(#[[SCRATCH]], f16)
  // CHECK: gk.kernel @prefill_cast_f16_k64 cast_f16(activation, activation) params {block = 256 : i64, k = 64 : i64}
  // CHECK: gk.kernel @prefill_dequant_f16_q8_0_64x64 dequant_f16(weight, scratch) quant q8_0
  // CHECK-SAME: params {block = 256 : i64, k = 64 : i64, n = 64 : i64}
  // One column tile, fewer than an eighth of the target's compute units: half-width tiles (and
  // too few blocks at twice the rows to double them); K = 64 is one of sm_90's 64-value stages.
  // CHECK: gk.kernel @prefill_matmul_q8_0_64x64 matmul(activation, weight, activation, activation, scratch) route gemm quant q8_0
  // CHECK-SAME: tiles<tile_m = 64, tile_n = 64, tile_k = 64>
  // CHECK: gk.kernel @prefill_attention_h4kv2d16 attention(activation, kv, kv, input, activation) route flash
  // CHECK-SAME: tiles<tile_m = 64, tile_n = 32>
  // The LM head multiplies one row: the fewest rows a gemm tile has.
  // CHECK: gk.kernel @prefill_lm_head_q8_0_64x256 lm_head(activation, weight, logits) route gemm quant q8_0
  // CHECK-SAME: tiles<tile_m = 16, tile_n = 128, tile_k = 32>
  // Decode's q, k, v and rope_kv_append are one matmul_qkv (without a prologue); prefill's
  // GEMMs stay three, and its rope_kv_append a launch.
  // CHECK: gk.kernel @decode_matmul_qkv_q8_0_64x64_kv32 matmul_qkv(activation, weight, weight, weight, activation, activation, activation, input, kv, kv) route gemv
  // CHECK-LABEL: gk.plan @prefill {
  // CHECK-NEXT: gk.launch @prefill_embedding_q8_0_d64(@tokens, @w.token_embd, @[[X:act.64.0]]) grid = #[[ROWS]]
  // CHECK-NEXT: gk.launch @prefill_cast_f16_k64(@[[X]], @x16.64) grid = #[[ROWS]]
  // The decoded matrices take the scratch buffers in turn.
  // CHECK-NEXT: gk.launch @prefill_dequant_f16_q8_0_64x64(@w.wq, @w16.0) grid = #[[DEQUANT]]
  // CHECK-NEXT: gk.launch @prefill_matmul_q8_0_64x64(@[[X]], @w.wq, @[[Q:act.64.1]], @x16.64, @w16.0) grid = #[[GEMM]]
  // CHECK-NEXT: gk.launch @prefill_dequant_f16_q8_0_64x32(@w.wk, @w16.1)
  // CHECK-NEXT: gk.launch @prefill_matmul_q8_0_64x32(@[[X]], @w.wk, @[[K:act.32.0]], @x16.64, @w16.1)
  // CHECK-NEXT: gk.launch @prefill_dequant_f16_q8_0_64x32(@w.wv, @w16.2)
  // CHECK-NEXT: gk.launch @prefill_matmul_q8_0_64x32(@[[X]], @w.wv, @[[V:act.32.1]], @x16.64, @w16.2)
  // CHECK-NEXT: gk.launch @prefill_rope_kv_append_h4kv2(@[[Q]], @[[K]], @[[V]], @positions, @kv0.k, @kv0.v)
  // CHECK-NEXT: gk.launch @prefill_attention_h4kv2d16(@[[Q]], @kv0.k, @kv0.v, @positions, @[[A:act.64.[02]]]) grid = #[[FLASH]]
  // CHECK-NEXT: gk.launch @prefill_rms_norm_d64(@[[A]], @w.output_norm, @[[F:act.64.[0-9]]])
  // CHECK-NEXT: gk.launch @prefill_lm_head_q8_0_64x256(@[[F]], @w.token_embd, @logits) grid = #[[LMHEAD]]
  // CHECK-NEXT: }
  // CHECK-LABEL: gk.plan @decode {
  // CHECK: gk.launch @decode_matmul_qkv_q8_0_64x64_kv32(@act.64.0, @w.wq, @w.wk, @w.wv, @act.64.1, @act.32.0, @act.32.1, @positions, @kv0.k, @kv0.v) grid = #[[DECODE_GEMV]]
  func.func @decode(%tokens: tensor<1xi32>, %pos: tensor<1xi32>) -> tensor<1x256xf32>
      attributes {greta.phase = #greta<phase decode>} {
    %x = greta.embedding %tokens, @token_embd : tensor<1xi32> -> tensor<1x64xf32>
    %q = greta.matmul %x, @wq route gemv : tensor<1x64xf32> -> tensor<1x64xf32>
    %k = greta.matmul %x, @wk route gemv : tensor<1x64xf32> -> tensor<1x32xf32>
    %v = greta.matmul %x, @wv route gemv : tensor<1x64xf32> -> tensor<1x32xf32>
    %qr = greta.rope_kv_append %q, %k, %v, %pos into @kv0 heads = 4 theta = 1.0e4
            : tensor<1x64xf32>, tensor<1x32xf32>, tensor<1xi32>
    %a = greta.attention %qr, %pos from @kv0 heads = 4 kv_heads = 2 causal
           : tensor<1x64xf32>, tensor<1xi32>
    %f = greta.rms_norm %a, @output_norm eps = 1.0e-5 : tensor<1x64xf32>
    %logits = greta.lm_head %f, @token_embd route gemv : tensor<1x64xf32> -> tensor<1x256xf32>
    return %logits : tensor<1x256xf32>
  }
  func.func @prefill(%tokens: tensor<?xi32>, %pos: tensor<?xi32>) -> tensor<1x256xf32>
      attributes {greta.phase = #greta<phase prefill>} {
    %x = greta.embedding %tokens, @token_embd : tensor<?xi32> -> tensor<?x64xf32>
    %q = greta.matmul %x, @wq route gemm : tensor<?x64xf32> -> tensor<?x64xf32>
    %k = greta.matmul %x, @wk route gemm : tensor<?x64xf32> -> tensor<?x32xf32>
    %v = greta.matmul %x, @wv route gemm : tensor<?x64xf32> -> tensor<?x32xf32>
    %qr = greta.rope_kv_append %q, %k, %v, %pos into @kv0 heads = 4 theta = 1.0e4
            : tensor<?x64xf32>, tensor<?x32xf32>, tensor<?xi32>
    %a = greta.attention %qr, %pos from @kv0 heads = 4 kv_heads = 2 causal
           : tensor<?x64xf32>, tensor<?xi32>
    %f = greta.rms_norm %a, @output_norm eps = 1.0e-5 : tensor<?x64xf32>
    %logits = greta.lm_head %f, @token_embd last_only route gemm
                : tensor<?x64xf32> -> tensor<1x256xf32>
    return %logits : tensor<1x256xf32>
  }
}

// -----

// Tests the unfused forms: an RMSNorm whose input dies writes over it, RoPE rotates in place
// (its result is its input's buffer), kv_append binds both caches, and silu_mul and add write
// over an operand that dies there. Values of different widths never share a buffer.
module attributes {greta.model = #greta.model<layers = 1, dim = 64, heads = 4, kv_heads = 2,
    ffn = 128, vocab = 256, context = 128, rope_theta = 1.0e4, eps = 1.0e-5, tied = true>} {
  greta.weight @token_embd : !greta.weight<64x256, f32> {gguf_name = "token_embd.weight"}
  greta.weight @norm : !greta.weight<64, f32> {gguf_name = "blk.0.attn_norm.weight"}
  greta.weight @wk : !greta.weight<64x32, f32> {gguf_name = "blk.0.attn_k.weight"}
  greta.weight @gate : !greta.weight<64x128, f32> {gguf_name = "blk.0.ffn_gate.weight"}
  greta.weight @up : !greta.weight<64x128, f32> {gguf_name = "blk.0.ffn_up.weight"}
  greta.weight @down : !greta.weight<128x64, f32> {gguf_name = "blk.0.ffn_down.weight"}
  greta.kv_cache @kv0 : !greta.kv<ctx = 128, kv_heads = 2, head_dim = 16, dtype = f32>

  // CHECK-DAG: #[[ROWS:map[0-9]*]] = affine_map<(d0) -> (d0)>
  // CHECK-DAG: #[[ELEMENTWISE:map[0-9]*]] = affine_map<(d0) -> (1, d0)>
  // CHECK: gk.kernel @decode_rms_norm_d64 rms_norm(activation, weight, activation)
  // CHECK: gk.kernel @decode_rope_h2 rope(activation, input)
  // CHECK-SAME: params {block = 256 : i64, head_dim = 16 : i64, heads = 2 : i64, theta = 1.000000e+04 : f32}
  // CHECK: gk.kernel @decode_kv_append_kv32 kv_append(activation, activation, input, kv, kv)
  // CHECK-SAME: params {block = 256 : i64, head_dim = 16 : i64, kv_heads = 2 : i64}
  // CHECK: gk.kernel @decode_silu_mul_n128 silu_mul(activation, activation, activation) params {block = 256 : i64, n = 128 : i64}
  // CHECK: gk.kernel @decode_add_n64 add(activation, activation, activation) params {block = 256 : i64, n = 64 : i64}
  // CHECK-LABEL: gk.plan @decode {
  // CHECK-NEXT: gk.launch @decode_embedding_f32_d64(@tokens, @w.token_embd, @[[X:act.64.0]])
  // CHECK-NEXT: gk.launch @decode_rms_norm_d64(@[[X]], @w.norm, @[[N:act.64.1]]) grid = #[[ROWS]]
  // CHECK-NEXT: gk.launch @decode_matmul_f32_64x32(@[[N]], @w.wk, @[[K:act.32.0]])
  // CHECK-NEXT: gk.launch @decode_rope_h2(@[[K]], @positions) grid = #[[ROWS]]
  // CHECK-NEXT: gk.launch @decode_kv_append_kv32(@[[K]], @[[K]], @positions, @kv0.k, @kv0.v)
  // CHECK-NEXT: gk.launch @decode_matmul_f32_64x128(@[[N]], @w.gate, @[[G:act.128.0]])
  // CHECK-NEXT: gk.launch @decode_matmul_f32_64x128(@[[N]], @w.up, @[[U:act.128.1]])
  // CHECK-NEXT: gk.launch @decode_silu_mul_n128(@[[G]], @[[U]], @[[G]]) grid = #[[ELEMENTWISE]]
  // CHECK-NEXT: gk.launch @decode_matmul_f32_128x64(@[[G]], @w.down, @[[D:act.64.1]])
  // CHECK-NEXT: gk.launch @decode_add_n64(@[[X]], @[[D]], @[[X]]) grid = #[[ELEMENTWISE]]
  // The in-place norm: its input dies there.
  // CHECK-NEXT: gk.launch @decode_rms_norm_d64(@[[X]], @w.norm, @[[X]])
  func.func @decode(%tokens: tensor<1xi32>, %pos: tensor<1xi32>) -> tensor<1x256xf32>
      attributes {greta.phase = #greta<phase decode>} {
    %x = greta.embedding %tokens, @token_embd : tensor<1xi32> -> tensor<1x64xf32>
    %n = greta.rms_norm %x, @norm eps = 1.0e-5 : tensor<1x64xf32>
    %k = greta.matmul %n, @wk route gemv : tensor<1x64xf32> -> tensor<1x32xf32>
    %kr = greta.rope %k, %pos heads = 2 head_dim = 16 theta = 1.0e4 : tensor<1x32xf32>, tensor<1xi32>
    greta.kv_append %kr, %kr, %pos into @kv0 : tensor<1x32xf32>, tensor<1xi32>
    %g = greta.matmul %n, @gate route gemv : tensor<1x64xf32> -> tensor<1x128xf32>
    %u = greta.matmul %n, @up route gemv : tensor<1x64xf32> -> tensor<1x128xf32>
    %gu = greta.silu_mul %g, %u : tensor<1x128xf32>
    %d = greta.matmul %gu, @down route gemv : tensor<1x128xf32> -> tensor<1x64xf32>
    %h = greta.add %x, %d : tensor<1x64xf32>
    %f = greta.rms_norm %h, @norm eps = 1.0e-5 : tensor<1x64xf32>
    %logits = greta.lm_head %f, @token_embd route gemv : tensor<1x64xf32> -> tensor<1x256xf32>
    return %logits : tensor<1x256xf32>
  }
}

// -----

// Tests that a binary16 gemm whose K is not a whole number of the target's 64-value stages
// (sm_90's) takes 32-value ones.
module attributes {greta.model = #greta.model<layers = 1, dim = 96, heads = 4, kv_heads = 2,
    ffn = 128, vocab = 256, context = 128, rope_theta = 1.0e4, eps = 1.0e-5, tied = true>} {
  greta.weight @token_embd : !greta.weight<96x256, q8_0> {gguf_name = "token_embd.weight"}
  greta.weight @wq : !greta.weight<96x64, q8_0> {gguf_name = "blk.0.attn_q.weight"}
  // CHECK: gk.kernel @prefill_matmul_q8_0_96x64 matmul(activation, weight, activation, activation, scratch) route gemm quant q8_0
  // CHECK-SAME: tiles<tile_m = 64, tile_n = 64, tile_k = 32>
  func.func @prefill(%tokens: tensor<?xi32>, %pos: tensor<?xi32>) -> tensor<1x256xf32>
      attributes {greta.phase = #greta<phase prefill>} {
    %x = greta.embedding %tokens, @token_embd : tensor<?xi32> -> tensor<?x96xf32>
    %q = greta.matmul %x, @wq route gemm : tensor<?x96xf32> -> tensor<?x64xf32>
    %logits = greta.lm_head %x, @token_embd last_only route gemv
                : tensor<?x96xf32> -> tensor<1x256xf32>
    return %logits : tensor<1x256xf32>
  }
}

// -----

// Tests that a weight under the fp16 policy is read as f16 (kernel quant f16, two bytes per
// value), that a RoPE frequency vector is named in the kernel params, and that layer-output
// audits get one record buffer per layer.
module attributes {greta.model = #greta.model<layers = 1, dim = 64, heads = 4, kv_heads = 2,
    ffn = 128, vocab = 256, context = 128, rope_theta = 5.0e5, eps = 1.0e-5, tied = false>} {
  greta.weight @token_embd : !greta.weight<64x256, q8_0> {gguf_name = "token_embd.weight"}
  greta.weight @rope_freqs : !greta.weight<8, f32> {gguf_name = "rope_freqs.weight"}
  greta.weight @wq : !greta.weight<64x64, q8_0> {gguf_name = "blk.0.attn_q.weight"}
  greta.weight @output : !greta.weight<64x256, q8_0> {gguf_name = "output.weight", policy = #greta<policy fp16>}

  // CHECK: gk.buffer @audit.layer.0.output audit bytes(64)
  // 256 rows of 64 f16 values.
  // CHECK: gk.buffer @w.output weight bytes(32768) source(@output)
  // CHECK: gk.kernel @decode_rope_h4 rope(activation, input)
  // CHECK-SAME: freqs = @rope_freqs
  // CHECK: gk.kernel @decode_audit_stats_layer_0_output audit_stats(activation, audit)
  // CHECK-SAME: point = "layer.0.output"
  // CHECK: gk.kernel @decode_lm_head_f16_64x256 lm_head(activation, weight, logits) route gemv quant f16
  // CHECK-LABEL: gk.plan @decode {
  // CHECK: gk.audit_launch layer_output @decode_audit_stats_layer_0_output(@act.64.0, @audit.layer.0.output) layer 0
  // CHECK-NEXT: gk.launch @decode_lm_head_f16_64x256(@act.64.0, @w.output, @logits)
  func.func @decode(%tokens: tensor<1xi32>, %pos: tensor<1xi32>) -> tensor<1x256xf32>
      attributes {greta.phase = #greta<phase decode>} {
    %x = greta.embedding %tokens, @token_embd : tensor<1xi32> -> tensor<1x64xf32>
    %q = greta.matmul %x, @wq route gemv : tensor<1x64xf32> -> tensor<1x64xf32>
    %qr = greta.rope %q, %pos heads = 4 head_dim = 16 theta = 5.0e5 freqs = @rope_freqs
            : tensor<1x64xf32>, tensor<1xi32>
    %h = greta.audit layer_output %x layer 0 : tensor<1x64xf32>
    %logits = greta.lm_head %h, @output route gemv : tensor<1x64xf32> -> tensor<1x256xf32>
    return %logits : tensor<1x256xf32>
  }
}

// -----

// Tests matmul_qkv's conditions: a v stored unlike q and k is a second part of the launch
// (params.v_quant, its rows tiled on their own: 12 tiles of 8 over q and k's 96 rows, then 4 over
// v's 32), while q and k of different types, or a product that something else also reads, stay
// three matmuls and a rope_kv_append.
module attributes {greta.model = #greta.model<layers = 3, dim = 64, heads = 4, kv_heads = 2,
    ffn = 128, vocab = 256, context = 128, rope_theta = 1.0e4, eps = 1.0e-5, tied = true>} {
  greta.weight @token_embd : !greta.weight<64x256, q8_0> {gguf_name = "token_embd.weight"}
  greta.weight @wq : !greta.weight<64x64, q8_0> {gguf_name = "blk.0.attn_q.weight"}
  greta.weight @wk : !greta.weight<64x32, q8_0> {gguf_name = "blk.0.attn_k.weight"}
  greta.weight @wv : !greta.weight<64x32, f16> {gguf_name = "blk.0.attn_v.weight"}
  greta.weight @wk16 : !greta.weight<64x32, f16> {gguf_name = "blk.1.attn_k.weight"}
  greta.kv_cache @kv0 : !greta.kv<ctx = 128, kv_heads = 2, head_dim = 16, dtype = f32>
  greta.kv_cache @kv1 : !greta.kv<ctx = 128, kv_heads = 2, head_dim = 16, dtype = f32>
  greta.kv_cache @kv2 : !greta.kv<ctx = 128, kv_heads = 2, head_dim = 16, dtype = f32>

  // CHECK-DAG: #[[TWO_PARTS:map[0-9]*]] = affine_map<(d0) -> (16, d0, 2)>
  // CHECK: gk.kernel @decode_matmul_qkv_q8_0_64x64_kv32_vf16 matmul_qkv(
  // CHECK-SAME: v_quant = "f16"
  // CHECK-LABEL: gk.plan @decode {
  // CHECK: gk.launch @decode_matmul_qkv_q8_0_64x64_kv32_vf16(@[[X:act.64.0]], @w.wq, @w.wk, @w.wv, {{.*}}) grid = #[[TWO_PARTS]]
  // q (Q8_0) and k (F16) differ:
  // CHECK-NEXT: gk.launch @decode_attention
  // CHECK-NEXT: gk.launch @decode_matmul_q8_0_64x64(@[[X]], @w.wq,
  // CHECK-NEXT: gk.launch @decode_matmul_f16_64x32(@[[X]], @w.wk16,
  // CHECK-NEXT: gk.launch @decode_matmul_f16_64x32(@[[X]], @w.wv,
  // CHECK-NEXT: gk.launch @decode_rope_kv_append_h4kv2(
  // CHECK-NEXT: gk.launch @decode_attention
  // v is also read by an add:
  // CHECK-NEXT: gk.launch @decode_matmul_q8_0_64x64(@[[X]], @w.wq,
  // CHECK-NEXT: gk.launch @decode_matmul_q8_0_64x32(@[[X]], @w.wk,
  // CHECK-NEXT: gk.launch @decode_matmul_f16_64x32(@[[X]], @w.wv,
  // CHECK-NOT: matmul_qkv
  func.func @decode(%tokens: tensor<1xi32>, %pos: tensor<1xi32>) -> tensor<1x256xf32>
      attributes {greta.phase = #greta<phase decode>} {
    %x = greta.embedding %tokens, @token_embd : tensor<1xi32> -> tensor<1x64xf32>
    %q0 = greta.matmul %x, @wq route gemv : tensor<1x64xf32> -> tensor<1x64xf32>
    %k0 = greta.matmul %x, @wk route gemv : tensor<1x64xf32> -> tensor<1x32xf32>
    %v0 = greta.matmul %x, @wv route gemv : tensor<1x64xf32> -> tensor<1x32xf32>
    %r0 = greta.rope_kv_append %q0, %k0, %v0, %pos into @kv0 heads = 4 theta = 1.0e4
            : tensor<1x64xf32>, tensor<1x32xf32>, tensor<1xi32>
    %a0 = greta.attention %r0, %pos from @kv0 heads = 4 kv_heads = 2 causal
            : tensor<1x64xf32>, tensor<1xi32>
    %q1 = greta.matmul %x, @wq route gemv : tensor<1x64xf32> -> tensor<1x64xf32>
    %k1 = greta.matmul %x, @wk16 route gemv : tensor<1x64xf32> -> tensor<1x32xf32>
    %v1 = greta.matmul %x, @wv route gemv : tensor<1x64xf32> -> tensor<1x32xf32>
    %r1 = greta.rope_kv_append %q1, %k1, %v1, %pos into @kv1 heads = 4 theta = 1.0e4
            : tensor<1x64xf32>, tensor<1x32xf32>, tensor<1xi32>
    %a1 = greta.attention %r1, %pos from @kv1 heads = 4 kv_heads = 2 causal
            : tensor<1x64xf32>, tensor<1xi32>
    %q2 = greta.matmul %x, @wq route gemv : tensor<1x64xf32> -> tensor<1x64xf32>
    %k2 = greta.matmul %x, @wk route gemv : tensor<1x64xf32> -> tensor<1x32xf32>
    %v2 = greta.matmul %x, @wv route gemv : tensor<1x64xf32> -> tensor<1x32xf32>
    %r2 = greta.rope_kv_append %q2, %k2, %v2, %pos into @kv2 heads = 4 theta = 1.0e4
            : tensor<1x64xf32>, tensor<1x32xf32>, tensor<1xi32>
    %a2 = greta.attention %r2, %pos from @kv2 heads = 4 kv_heads = 2 causal
            : tensor<1x64xf32>, tensor<1xi32>
    %vv = greta.add %v2, %v2 : tensor<1x32xf32>
    %s01 = greta.add %a0, %a1 : tensor<1x64xf32>
    %s = greta.add %s01, %a2 : tensor<1x64xf32>
    %logits = greta.lm_head %s, @token_embd route gemv : tensor<1x64xf32> -> tensor<1x256xf32>
    return %logits : tensor<1x256xf32>
  }
}
