// RUN: greta-opt %s --greta-specialize-phases --greta-insert-audit --greta-fuse --greta-select-routes --greta-lower-to-kernels --greta-emit-hip -o /dev/null | FileCheck %s
// Tests that a Llama-3-8B layer whose q, k and v weights share one type (Q4_K_M's Q4_K v layers)
// decodes its attention projections and their rope_kv_append in one matmul_qkv launch over
// 4096 + 1024 + 1024 weight rows, from the gemv template with the three matrices' row ranges
// baked in, while prefill keeps three GEMMs and a rope_kv_append launch. (llama3-8b-layer.mlir
// has the Q6_K v layer: a second part for v's rows.)
// CHECK: gk.kernel @prefill_matmul_q4_k_4096x4096_norm (
// CHECK: gk.kernel @prefill_matmul_q4_k_4096x1024_norm (
// CHECK-NOT: gk.kernel @prefill_matmul_qkv
// CHECK: gk.kernel @prefill_rope_kv_append_h32kv8 (
// CHECK: gk.kernel @decode_matmul_qkv_q4_k_4096x4096_kv1024_norm (
// CHECK: family matmul_qkv, route gemv, weights Q4_K
// CHECK: Made from codegen/templates/matmul_gemv.hip
// CHECK: constexpr int kHeads = 32;
// CHECK-NEXT: constexpr int kKVHeads = 8;
// CHECK-NEXT: constexpr int kHeadDim = 128;
// CHECK: constexpr int kNQ = kHeads * kHeadDim;
// CHECK-NEXT: constexpr int kNKV = kKVHeads * kHeadDim;
// CHECK-NEXT: constexpr int kN = kNQ + 2 * kNKV;
// 6144 rows: 24 a block make 256 blocks, one wave of two per compute unit on sm_90's 132 (32
// would leave a quarter of the wave empty).
// CHECK: constexpr int kTileN = 24;
// CHECK: struct Params {
// CHECK-NEXT: const float *x;
// CHECK-NEXT: const u8 *q_weight;
// CHECK-NEXT: const u8 *k_weight;
// CHECK-NEXT: const u8 *v_weight;
// CHECK-NEXT: float *q;
// CHECK-NEXT: float *k;
// CHECK-NEXT: float *v;
// CHECK-NEXT: const i32 *positions;
// CHECK-NEXT: KVValue *k_cache;
// CHECK-NEXT: KVValue *v_cache;
// CHECK-NEXT: const float *norm;
// CHECK-NEXT: const float *freqs;
// The rotations are computed while the first weights are in flight; the stores rotate q's and
// k's pairs and append k and v to the caches.
// CHECK: rope_rotation(p.freqs, n % kHeadDim / 2, p.positions[s], cosine, sine);
// CHECK: kv_store2((isKey ? p.k_cache : p.v_cache) + static_cast<i64>(position) * kNKV + c, pair);
// CHECK: return p.v_weight + (n - kNQ - kNKV) * kRowBytes;
// CHECK: rows[r] = qkv_weight_row(p, n);
// CHECK: qkv_tile_rotations(p, s, kPartFirst + tile * kTileN, rotation);
// CHECK: wait_for_producers();
// CHECK: store_qkv_tile(p, s, kPartFirst + tile * kTileN, kPartFirst + kPartRows, tileOut, rotation);
// CHECK-NOT: namespace part1
// CHECK-NOT: gk.kernel @decode_matmul_q4_k_4096x1024_norm (
// CHECK-NOT: gk.kernel @decode_rope_kv_append_h32kv8 (
// CHECK: gk.kernel @decode_attention_h32kv8d128 (
module attributes {greta.model = #greta.model<layers = 1, dim = 4096, heads = 32, kv_heads = 8,
    ffn = 14336, vocab = 128256, context = 8192, rope_theta = 5.0e5, eps = 1.0e-5, tied = false>} {
  greta.weight @token_embd : !greta.weight<4096x128256, q4_k> {gguf_name = "token_embd.weight"}
  greta.weight @rope_freqs : !greta.weight<64, f32> {gguf_name = "rope_freqs.weight"}
  greta.weight @blk0_attn_norm : !greta.weight<4096, f32> {gguf_name = "blk.0.attn_norm.weight"}
  greta.weight @blk0_attn_q : !greta.weight<4096x4096, q4_k> {gguf_name = "blk.0.attn_q.weight"}
  greta.weight @blk0_attn_k : !greta.weight<4096x1024, q4_k> {gguf_name = "blk.0.attn_k.weight"}
  greta.weight @blk0_attn_v : !greta.weight<4096x1024, q4_k> {gguf_name = "blk.0.attn_v.weight"}
  greta.weight @blk0_attn_output : !greta.weight<4096x4096, q4_k> {gguf_name = "blk.0.attn_output.weight"}
  greta.weight @blk0_ffn_norm : !greta.weight<4096, f32> {gguf_name = "blk.0.ffn_norm.weight"}
  greta.weight @blk0_ffn_gate : !greta.weight<4096x14336, q4_k> {gguf_name = "blk.0.ffn_gate.weight"}
  greta.weight @blk0_ffn_up : !greta.weight<4096x14336, q4_k> {gguf_name = "blk.0.ffn_up.weight"}
  greta.weight @blk0_ffn_down : !greta.weight<14336x4096, q6_k> {gguf_name = "blk.0.ffn_down.weight"}
  greta.weight @output_norm : !greta.weight<4096, f32> {gguf_name = "output_norm.weight"}
  greta.weight @output : !greta.weight<4096x128256, q6_k> {gguf_name = "output.weight"}
  greta.kv_cache @kv0 : !greta.kv<ctx = 8192, kv_heads = 8, head_dim = 128, dtype = f32>

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
