// RUN: greta-synth -o %t.tied.gguf --preset tiny --tied-embeddings 2> /dev/null
// RUN: greta-compile %t.tied.gguf --stop-after-stage import | FileCheck %s --check-prefix=TIED
// RUN: greta-synth -o %t.freqs.gguf --preset tiny --rope-scaling llama3 2> /dev/null
// RUN: greta-compile %t.freqs.gguf --stop-after-stage import | FileCheck %s --check-prefix=FREQS
// RUN: greta-synth -o %t.f32.gguf --preset tiny --quant f32 2> /dev/null
// RUN: greta-compile %t.f32.gguf --stop-after-stage import | FileCheck %s --check-prefix=F32
// RUN: greta-synth -o %t.q8.gguf --preset tiny --quant q8_0 2> /dev/null
// RUN: greta-compile %t.q8.gguf --stop-after-stage import | FileCheck %s --check-prefix=Q8
// RUN: greta-synth -o %t.gqa4.gguf --preset tiny --heads 8 --kv-heads 2 --layers 1 2> /dev/null
// RUN: greta-compile %t.gqa4.gguf --stop-after-stage import | FileCheck %s --check-prefix=GQA4
// RUN: greta-synth -o %t.mha.gguf --preset tiny --kv-heads 4 --layers 1 2> /dev/null
// RUN: greta-compile %t.mha.gguf --stop-after-stage import | FileCheck %s --check-prefix=MHA

// Tests that a model without output.weight is imported as tied: no @output symbol, and the LM
// head reads the token embedding.
// TIED: tied = true
// TIED-NOT: greta.weight @output :
// TIED: greta.weight @output_norm
// TIED-NOT: greta.weight @output :
// TIED: greta.lm_head %{{.*}}, @token_embd : tensor<?x256xf32> -> tensor<?x{{[0-9]+}}xf32>

// Tests that a Llama-3.1 model's rope_freqs.weight (head_dim / 2 frequency divisors) is a
// weight that every query and key rope names.
// FREQS: greta.weight @rope_freqs : !greta.weight<32, f32> {gguf_name = "rope_freqs.weight"}
// FREQS-LABEL: func.func @forward
// FREQS: greta.rope {{.*}} heads = 4 head_dim = 64 theta = {{.*}} freqs = @rope_freqs
// FREQS-NEXT: greta.rope {{.*}} heads = 2 head_dim = 64 theta = {{.*}} freqs = @rope_freqs
// FREQS: greta.rope {{.*}} freqs = @rope_freqs
// FREQS-NEXT: greta.rope {{.*}} freqs = @rope_freqs

// Tests that the weight types follow the file: every tensor f32 in an f32 model.
// F32: greta.weight @token_embd : !greta.weight<256x{{[0-9]+}}, f32>
// F32: greta.weight @blk0_attn_q : !greta.weight<256x256, f32>
// F32: greta.weight @output : !greta.weight<256x{{[0-9]+}}, f32>
// F32-NOT: q8_0
// F32-NOT: q4_k

// Tests the q8_0 mix: matrices Q8_0, norms F32.
// Q8: greta.weight @blk0_attn_norm : !greta.weight<256, f32>
// Q8-NEXT: greta.weight @blk0_attn_q : !greta.weight<256x256, q8_0>
// Q8: greta.weight @blk0_ffn_down : !greta.weight<512x256, q8_0>

// Tests wider grouped-query attention (8 query heads of 32 over 2 KV heads): the K/V
// projections, ropes, cache and attention all follow.
// GQA4: heads = 8, kv_heads = 2
// GQA4: greta.weight @blk0_attn_k : !greta.weight<256x64,
// GQA4: greta.kv_cache @kv0 : !greta.kv<ctx = 2048, kv_heads = 2, head_dim = 32, dtype = f32>
// GQA4: greta.rope {{.*}} heads = 8 head_dim = 32 {{.*}} : tensor<?x256xf32>
// GQA4-NEXT: greta.rope {{.*}} heads = 2 head_dim = 32 {{.*}} : tensor<?x64xf32>
// GQA4: greta.attention {{.*}} heads = 8 kv_heads = 2 causal

// Tests plain multi-head attention (as many KV heads as query heads).
// MHA: heads = 4, kv_heads = 4
// MHA: greta.weight @blk0_attn_k : !greta.weight<256x256,
// MHA: greta.attention {{.*}} heads = 4 kv_heads = 4 causal
