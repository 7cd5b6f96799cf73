// RUN: greta-opt %s --greta-specialize-phases --greta-insert-audit --greta-fuse --greta-select-routes --greta-lower-to-kernels --greta-emit-hip -o /dev/null | FileCheck %s
// RUN: greta-opt %s --greta-specialize-phases --greta-insert-audit --greta-fuse --greta-select-routes --greta-lower-to-kernels --greta-emit-hip -o /dev/null | FileCheck %s --check-prefix=NOWARP

// Tests that a Llama-3-8B layer (as greta-import writes it, with Llama-3.1 rope_freqs) goes
// through the whole pipeline to HIP sources: GEMV kernels with RMSNorm prologues for decode,
// GEMM kernels for prefill, the fused FFN and attention kernels of both phases, and the audit
// kernels, each with the 8B constants baked in and no literal warp size anywhere (inline
// assembly's operands, %31 and the like, are not one).
// NOWARP-NOT: {{warpSize|__shfl_|([/&<>] *|% +)(31|32|63|64)([^0-9.x]|$)|== *(32|64)\b}}
// CHECK: gk.kernel @prefill_embedding_q4_k_d4096 (
// Prefill's products read binary16 operands, streamed through shared memory: the input rows
// normalised and rounded once by a cast_f16 kernel, the weights decoded once per launch of the
// plan by a dequant_f16 kernel into a scratch buffer.
// CHECK: gk.kernel @prefill_cast_f16_k4096_norm (
// CHECK: Made from codegen/templates/cast_f16.hip
// CHECK: gk.kernel @prefill_dequant_f16_q4_k_4096x4096 (
// CHECK: family dequant_f16, weights Q4_K
// CHECK: constexpr int kN = 4096;
// CHECK: manifest param_fields: weight,out,rows,ctx
// CHECK: dequant_chunk(p.weight + n * kRowBytes, c, values);
// The 4096-wide products hold 128 blocks of 128 rows at pp512 (about a wave on an H100's 132
// SMs): 128 x 128 tiles, 64-value stages, six (216 KiB: no second block shares the SM),
// multiplied by Hopper's wgmma (the mma path kept for a GPU without it).
// CHECK: gk.kernel @prefill_matmul_q4_k_4096x4096_norm (
// CHECK: route gemm, weights Q4_K
// CHECK: Made from codegen/templates/matmul_mma_f16.hip
// CHECK: constexpr int kTileM = 128;
// CHECK: constexpr int kTileN = 128;
// CHECK: constexpr int kTileK = 64;
// CHECK: constexpr int kStagesInFlight = 6;
// CHECK: manifest param_fields: x,weight,out,norm,x_f16,weight_f16,rows,ctx
// CHECK: wgmma.mma_async.sync.aligned.m64n128k16.f32.f16.f16
// CHECK: copy_async_16(wSlot + slot_offset(r, v),
// CHECK: finish_products(acc);
// CHECK: gk.kernel @prefill_dequant_f16_q6_k_4096x1024 (
// The 1024-wide products (8 column tiles of 128, fewer than an eighth of an H100's SMs) take
// half-width tiles; the 4096-wide ones above keep 128.
// CHECK: gk.kernel @prefill_matmul_q6_k_4096x1024_norm (
// CHECK: constexpr int kTileM = 64;
// CHECK: constexpr int kTileN = 64;
// CHECK: constexpr int kStagesInFlight = 4;
// CHECK-NOT: wgmma.mma_async
// CHECK: mma_load_a(a[i],
// CHECK: gk.kernel @prefill_rope_kv_append_h32kv8 (
// CHECK: gk.kernel @prefill_attention_h32kv8d128 (
// CHECK: constexpr int kTileN = 32;
// CHECK: gk.kernel @prefill_dequant_f16_q4_k_4096x14336 (
// gate_up has a column tile for every SM: 128 rows per block, three stages of tiles in flight
// (112 KiB: two blocks share an SM).
// CHECK: gk.kernel @prefill_matmul_gate_up_q4_k_4096x14336_norm (
// CHECK: Made from codegen/templates/matmul_mma_f16.hip
// CHECK: constexpr int kTileM = 128;
// CHECK: constexpr int kTileN = 64; // output columns per block
// CHECK: constexpr int kStagesInFlight = 3;
// CHECK: manifest param_fields: x,gate,up,out,norm,x_f16,gate_f16,up_f16,rows,ctx
// CHECK: wgmma.mma_async.sync.aligned.m64n128k16.f32.f16.f16
// CHECK: gk.kernel @prefill_cast_f16_k14336 (
// CHECK: gk.kernel @prefill_dequant_f16_q6_k_14336x4096 (
// CHECK: gk.kernel @prefill_matmul_q6_k_14336x4096_residual (
// CHECK: Made from codegen/templates/matmul_mma_f16.hip
// The LM head projects one row: it reads its weights as decode's does, on the gemv route.
// CHECK: gk.kernel @prefill_lm_head_q6_k_4096x128256 (
// CHECK: route gemv, weights Q6_K
// CHECK: Made from codegen/templates/matmul_gemv.hip
// CHECK: gk.kernel @prefill_audit_stats_lm_head (
// Decode's q, k (Q4_K) and v (Q6_K) are one matmul_qkv launch of two parts, each with its
// format's row stride and decoder (a block's tile lies in one part), whose stores rotate q and
// k (Llama-3.1 rope_freqs) and append k and v to the caches: no rope_kv_append launch.
// CHECK: gk.kernel @decode_matmul_qkv_q4_k_4096x4096_kv1024_vq6_k_norm (
// CHECK: family matmul_qkv, route gemv, weights Q4_K
// CHECK: constexpr int kHeadDim = 128;
// CHECK: constexpr double kTheta = 500000.0;
// CHECK: constexpr int kTileN = 24;
// CHECK: frequency /= static_cast<double>(freqs[i]);
// CHECK: __device__ __forceinline__ void store_qkv_tile(
// CHECK: namespace part0 {
// CHECK: constexpr i64 kRowBytes = 2304;
// CHECK-NEXT: constexpr int kPartFirst = 0;
// CHECK-NEXT: constexpr int kPartRows = 5120;
// CHECK: gemv pieces of Q4_K
// CHECK: } // namespace part0
// CHECK: namespace part1 {
// CHECK: constexpr i64 kRowBytes = 3360;
// CHECK-NEXT: constexpr int kPartFirst = 5120;
// CHECK-NEXT: constexpr int kPartRows = 1024;
// CHECK: gemv pieces of Q6_K
// CHECK: } // namespace part1
// CHECK: if (static_cast<int>(blockIdx.x) >= part0::kTiles) {
// CHECK-NEXT: part1::gemv_tile(p, static_cast<int>(blockIdx.x) - part0::kTiles, staged);
// CHECK-NOT: gk.kernel @decode_matmul_q6_k_4096x1024_norm (
// CHECK-NOT: gk.kernel @decode_rope_kv_append_h32kv8 (
// CHECK: gk.kernel @decode_attention_h32kv8d128 (
// CHECK: route split_kv
// CHECK: gk.kernel @decode_matmul_gate_up_q4_k_4096x14336_norm (
// CHECK: constexpr int kK = 4096;
// CHECK: constexpr int kN = 14336;
// CHECK: constexpr i64 kRowBytes = 2304;
// The 14336-long down projection keeps 32 rows a block and splits K in two for a wave of
// 256 blocks (a 4096-long product narrows its tiles instead: gate_up above keeps 32 rows, as
// its 448 blocks are already a wave).
// CHECK: gk.kernel @decode_matmul_q6_k_14336x4096_residual (
// CHECK: constexpr int kTileN = 32;
// CHECK-NEXT: constexpr int kSplitK = 2;
// CHECK: gk.kernel @decode_audit_stats_final_rmsnorm (
// CHECK: gk.kernel @decode_lm_head_q6_k_4096x128256 (
// CHECK: constexpr int kN = 128256;
// CHECK: constexpr i64 kRowBytes = 3360;
// CHECK: gk.kernel @decode_audit_stats_lm_head (

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
