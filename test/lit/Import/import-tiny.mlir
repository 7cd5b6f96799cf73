// RUN: greta-synth -o %t.gguf --preset tiny --quant q4_k_m 2> /dev/null
// RUN: greta-compile %t.gguf --stop-after-stage import | FileCheck %s
// RUN: greta-compile %t.gguf --stop-after-stage 00-import | FileCheck %s --check-prefix=NODENSE

// Tests that the tiny model (2 layers, dim 256, 4 query heads over 2 KV heads, untied output)
// imports with its hyper-parameters as #greta.model, one greta.weight per GGUF tensor typed
// from the file (q4_k_m: Q4_K, with output and some attn_v / ffn_down in Q6_K, norms F32),
// one f32 KV cache per layer sized by the context length, and @forward over a dynamic
// sequence length.
// CHECK: module attributes {greta.model = #greta.model<layers = 2, dim = 256, heads = 4, kv_heads = 2, ffn = 512, vocab = [[VOCAB:[0-9]+]], context = 2048, rope_theta = 5.000000e+05, eps = {{.*}}, tied = false>}
// CHECK-NEXT: greta.weight @token_embd : !greta.weight<256x[[VOCAB]], q4_k> {gguf_name = "token_embd.weight"}
// CHECK-NEXT: greta.weight @blk0_attn_norm : !greta.weight<256, f32> {gguf_name = "blk.0.attn_norm.weight"}
// CHECK-NEXT: greta.weight @blk0_attn_q : !greta.weight<256x256, q4_k> {gguf_name = "blk.0.attn_q.weight"}
// CHECK-NEXT: greta.weight @blk0_attn_k : !greta.weight<256x128, q4_k> {gguf_name = "blk.0.attn_k.weight"}
// CHECK-NEXT: greta.weight @blk0_attn_v : !greta.weight<256x128, {{q4_k|q6_k}}> {gguf_name = "blk.0.attn_v.weight"}
// CHECK-NEXT: greta.weight @blk0_attn_output : !greta.weight<256x256, q4_k> {gguf_name = "blk.0.attn_output.weight"}
// CHECK-NEXT: greta.weight @blk0_ffn_norm : !greta.weight<256, f32> {gguf_name = "blk.0.ffn_norm.weight"}
// CHECK-NEXT: greta.weight @blk0_ffn_gate : !greta.weight<256x512, q4_k> {gguf_name = "blk.0.ffn_gate.weight"}
// CHECK-NEXT: greta.weight @blk0_ffn_up : !greta.weight<256x512, q4_k> {gguf_name = "blk.0.ffn_up.weight"}
// CHECK-NEXT: greta.weight @blk0_ffn_down : !greta.weight<512x256, {{q4_k|q6_k}}> {gguf_name = "blk.0.ffn_down.weight"}
// CHECK: greta.weight @blk1_ffn_down : !greta.weight<512x256, {{q4_k|q6_k}}> {gguf_name = "blk.1.ffn_down.weight"}
// CHECK-NEXT: greta.weight @output_norm : !greta.weight<256, f32> {gguf_name = "output_norm.weight"}
// CHECK-NEXT: greta.weight @output : !greta.weight<256x[[VOCAB]], q6_k> {gguf_name = "output.weight"}
// CHECK-NEXT: greta.kv_cache @kv0 : !greta.kv<ctx = 2048, kv_heads = 2, head_dim = 64, dtype = f32>
// CHECK-NEXT: greta.kv_cache @kv1 : !greta.kv<ctx = 2048, kv_heads = 2, head_dim = 64, dtype = f32>

// Tests the forward pass of a layer, op by op: norm, q/k/v projections (GQA: k and v are
// half as wide as q), RoPE of queries (4 heads) and keys (2 heads), append, attention, output
// projection and residual add, norm, SwiGLU feed-forward and residual add.
// CHECK-LABEL: func.func @forward
// CHECK-SAME: (%[[TOK:.*]]: tensor<?xi32>, %[[POS:.*]]: tensor<?xi32>) -> tensor<?x[[VOCAB]]xf32>
// CHECK-NEXT: %[[X:.*]] = greta.embedding %[[TOK]], @token_embd : tensor<?xi32> -> tensor<?x256xf32>
// CHECK-NEXT: %[[N:.*]] = greta.rms_norm %[[X]], @blk0_attn_norm eps = {{.*}} : tensor<?x256xf32>
// CHECK-NEXT: %[[Q:.*]] = greta.matmul %[[N]], @blk0_attn_q : tensor<?x256xf32> -> tensor<?x256xf32>
// CHECK-NEXT: %[[K:.*]] = greta.matmul %[[N]], @blk0_attn_k : tensor<?x256xf32> -> tensor<?x128xf32>
// CHECK-NEXT: %[[VAL:.*]] = greta.matmul %[[N]], @blk0_attn_v : tensor<?x256xf32> -> tensor<?x128xf32>
// CHECK-NEXT: %[[QR:.*]] = greta.rope %[[Q]], %[[POS]] heads = 4 head_dim = 64 theta = 5.000000e+05 : tensor<?x256xf32>, tensor<?xi32>
// CHECK-NEXT: %[[KR:.*]] = greta.rope %[[K]], %[[POS]] heads = 2 head_dim = 64 theta = 5.000000e+05 : tensor<?x128xf32>, tensor<?xi32>
// CHECK-NEXT: greta.kv_append %[[KR]], %[[VAL]], %[[POS]] into @kv0 : tensor<?x128xf32>, tensor<?xi32>
// CHECK-NEXT: %[[A:.*]] = greta.attention %[[QR]], %[[POS]] from @kv0 heads = 4 kv_heads = 2 causal : tensor<?x256xf32>, tensor<?xi32>
// CHECK-NEXT: %[[O:.*]] = greta.matmul %[[A]], @blk0_attn_output : tensor<?x256xf32> -> tensor<?x256xf32>
// CHECK-NEXT: %[[H:.*]] = greta.add %[[X]], %[[O]] : tensor<?x256xf32>
// CHECK-NEXT: %[[N2:.*]] = greta.rms_norm %[[H]], @blk0_ffn_norm eps = {{.*}} : tensor<?x256xf32>
// CHECK-NEXT: %[[G:.*]] = greta.matmul %[[N2]], @blk0_ffn_gate : tensor<?x256xf32> -> tensor<?x512xf32>
// CHECK-NEXT: %[[U:.*]] = greta.matmul %[[N2]], @blk0_ffn_up : tensor<?x256xf32> -> tensor<?x512xf32>
// CHECK-NEXT: %[[GU:.*]] = greta.silu_mul %[[G]], %[[U]] : tensor<?x512xf32>
// CHECK-NEXT: %[[D:.*]] = greta.matmul %[[GU]], @blk0_ffn_down : tensor<?x512xf32> -> tensor<?x256xf32>
// CHECK-NEXT: %[[H2:.*]] = greta.add %[[H]], %[[D]] : tensor<?x256xf32>

// Tests that the second layer reads the first layer's output and its own weights and cache,
// and that the final norm feeds the untied LM head, whose logits are returned.
// CHECK-NEXT: greta.rms_norm %[[H2]], @blk1_attn_norm
// CHECK: greta.kv_append {{.*}} into @kv1
// CHECK: greta.attention {{.*}} from @kv1
// CHECK: greta.silu_mul
// CHECK-NEXT: %[[DOWN:.*]] = greta.matmul %{{.*}}, @blk1_ffn_down
// CHECK-NEXT: %[[LAST:.*]] = greta.add %{{.*}}, %[[DOWN]] : tensor<?x256xf32>
// CHECK-NEXT: %[[F:.*]] = greta.rms_norm %[[LAST]], @output_norm eps = {{.*}} : tensor<?x256xf32>
// CHECK-NEXT: %[[L:.*]] = greta.lm_head %[[F]], @output : tensor<?x256xf32> -> tensor<?x[[VOCAB]]xf32>
// CHECK-NEXT: return %[[L]] : tensor<?x[[VOCAB]]xf32>

// Tests that no weight data is in the IR: weights are symbols, never dense attributes.
// NODENSE: greta.weight @token_embd
// NODENSE-NOT: dense
