// RUN: greta-opt %s --split-input-file --verify-diagnostics

// Tests that a weight symbol needs a gguf_name.
// expected-error@+1 {{requires attribute 'gguf_name'}}
greta.weight @w : !greta.weight<64, f32>

// -----

// Tests that an empty gguf_name is rejected.
// expected-error@+1 {{needs a non-empty gguf_name}}
greta.weight @w : !greta.weight<64, f32> {gguf_name = ""}

// -----

// Tests that weights are module-level symbols.
func.func @f() {
  // expected-error@+1 {{expects parent op 'builtin.module'}}
  greta.weight @w : !greta.weight<64, f32> {gguf_name = "w"}
  return
}

// -----

// Tests that RMSNorm rejects eps = 0.
greta.weight @norm : !greta.weight<64, f32> {gguf_name = "norm"}
func.func @f(%x: tensor<?x64xf32>) {
  // expected-error@+1 {{eps must be positive, got 0}}
  %0 = greta.rms_norm %x, @norm eps = 0.0 : tensor<?x64xf32>
  return
}

// -----

// Tests that RMSNorm rejects a negative eps.
greta.weight @norm : !greta.weight<64, f32> {gguf_name = "norm"}
func.func @f(%x: tensor<?x64xf32>) {
  // expected-error@+1 {{eps must be positive, got -1.0}}
  %0 = greta.rms_norm %x, @norm eps = -1.0e-5 : tensor<?x64xf32>
  return
}

// -----

// Tests that an RMSNorm weight must be as long as a row.
greta.weight @norm : !greta.weight<128, f32> {gguf_name = "norm"}
func.func @f(%x: tensor<?x64xf32>) {
  // expected-error@+1 {{'weight' @norm has 128 elements, expected 64 (the input's row length)}}
  %0 = greta.rms_norm %x, @norm eps = 1.0e-5 : tensor<?x64xf32>
  return
}

// -----

// Tests that a reference to an undefined weight is rejected.
func.func @f(%x: tensor<?x64xf32>) {
  // expected-error@+1 {{'weight' refers to @missing, which is not defined}}
  %0 = greta.rms_norm %x, @missing eps = 1.0e-5 : tensor<?x64xf32>
  return
}

// -----

// Tests that a weight reference must name a greta.weight, not another symbol.
greta.kv_cache @kv0 : !greta.kv<ctx = 16, kv_heads = 2, head_dim = 32, dtype = f32>
func.func @f(%x: tensor<?x64xf32>) {
  // expected-error@+1 {{'weight' refers to @kv0, a 'greta.kv_cache', not a greta.weight}}
  %0 = greta.rms_norm %x, @kv0 eps = 1.0e-5 : tensor<?x64xf32>
  return
}

// -----

// Tests that the fused add + RMSNorm rejects eps <= 0 as well.
greta.weight @norm : !greta.weight<64, f32> {gguf_name = "norm"}
func.func @f(%x: tensor<?x64xf32>) {
  // expected-error@+1 {{eps must be positive}}
  %s, %n = greta.add_rms_norm %x, %x, @norm eps = 0.0 : tensor<?x64xf32>
  return
}

// -----

// Tests that a matmul input must have the weight's K elements per row.
greta.weight @w : !greta.weight<64x32, q8_0> {gguf_name = "w"}
func.func @f(%x: tensor<?x96xf32>) {
  // expected-error@+1 {{input rows have 96 elements, expected 64 (the weight's K)}}
  %0 = greta.matmul %x, @w : tensor<?x96xf32> -> tensor<?x32xf32>
  return
}

// -----

// Tests that a matmul result must have the weight's N elements per row.
greta.weight @w : !greta.weight<64x32, q8_0> {gguf_name = "w"}
func.func @f(%x: tensor<?x64xf32>) {
  // expected-error@+1 {{result rows have 64 elements, expected 32 (the weight's N)}}
  %0 = greta.matmul %x, @w : tensor<?x64xf32> -> tensor<?x64xf32>
  return
}

// -----

// Tests that a matmul keeps the number of rows.
greta.weight @w : !greta.weight<64x32, q8_0> {gguf_name = "w"}
func.func @f(%x: tensor<4x64xf32>) {
  // expected-error@+1 {{input has 4 rows but the result has 5}}
  %0 = greta.matmul %x, @w : tensor<4x64xf32> -> tensor<5x32xf32>
  return
}

// -----

// Tests that a matmul weight must be a matrix.
greta.weight @w : !greta.weight<64, f32> {gguf_name = "w"}
func.func @f(%x: tensor<?x64xf32>) {
  // expected-error@+1 {{'weight' @w must be a matrix, got '!greta.weight<64, f32>'}}
  %0 = greta.matmul %x, @w : tensor<?x64xf32> -> tensor<?x64xf32>
  return
}

// -----

// Tests that a matmul's RMSNorm prologue vector must have K elements.
greta.weight @w : !greta.weight<64x32, q8_0> {gguf_name = "w"}
greta.weight @norm : !greta.weight<32, f32> {gguf_name = "norm"}
func.func @f(%x: tensor<?x64xf32>) {
  // expected-error@+1 {{'norm_weight' @norm has 32 elements, expected 64 (the weight's K)}}
  %0 = greta.matmul %x, @w rms_norm(@norm, eps = 1.0e-5) : tensor<?x64xf32> -> tensor<?x32xf32>
  return
}

// -----

// Tests that a matmul's RMSNorm prologue needs its epsilon (only reachable in generic form).
greta.weight @w : !greta.weight<64x32, q8_0> {gguf_name = "w"}
greta.weight @norm : !greta.weight<64, f32> {gguf_name = "norm"}
func.func @f(%x: tensor<?x64xf32>) {
  // expected-error@+1 {{rms_norm prologue needs both norm_weight and norm_eps}}
  %0 = "greta.matmul"(%x) <{weight = @w, norm_weight = @norm}> : (tensor<?x64xf32>) -> tensor<?x32xf32>
  return
}

// -----

// Tests that the residual of a matmul epilogue must have the result's type.
greta.weight @w : !greta.weight<64x32, q8_0> {gguf_name = "w"}
func.func @f(%x: tensor<?x64xf32>) {
  // expected-error@+1 {{residual_add operand has type 'tensor<?x64xf32>' but the result has type 'tensor<?x32xf32>'}}
  %0 = greta.matmul %x, @w residual_add(%x : tensor<?x64xf32>) : tensor<?x64xf32> -> tensor<?x32xf32>
  return
}

// -----

// Tests that a matmul carries at most one epilogue.
greta.weight @w : !greta.weight<64x64, q8_0> {gguf_name = "w"}
func.func @f(%x: tensor<?x64xf32>) {
  // expected-error@+1 {{has two epilogues (residual_add and silu_mul); at most one}}
  %0 = greta.matmul %x, @w residual_add(%x : tensor<?x64xf32>) silu_mul(@w) : tensor<?x64xf32> -> tensor<?x64xf32>
  return
}

// -----

// Tests that the up weight of a SiLU-mul epilogue must match the gate weight's type.
greta.weight @gate : !greta.weight<64x32, q8_0> {gguf_name = "gate"}
greta.weight @up : !greta.weight<64x32, q4_0> {gguf_name = "up"}
func.func @f(%x: tensor<?x64xf32>) {
  // expected-error@+1 {{silu_mul partner @up has type '!greta.weight<64x32, q4_0>', expected the gate's '!greta.weight<64x32, q8_0>'}}
  %0 = greta.matmul %x, @gate silu_mul(@up) : tensor<?x64xf32> -> tensor<?x32xf32>
  return
}

// -----

// Tests that an embedding produces one row per token.
greta.weight @embd : !greta.weight<64x256, q8_0> {gguf_name = "token_embd.weight"}
func.func @f(%t: tensor<4xi32>) {
  // expected-error@+1 {{tokens has 4 rows but the result has 5}}
  %0 = greta.embedding %t, @embd : tensor<4xi32> -> tensor<5x64xf32>
  return
}

// -----

// Tests that an embedding row is as wide as the table's rows.
greta.weight @embd : !greta.weight<64x256, q8_0> {gguf_name = "token_embd.weight"}
func.func @f(%t: tensor<?xi32>) {
  // expected-error@+1 {{result rows have 256 elements, expected 64 (the embedding table's row length)}}
  %0 = greta.embedding %t, @embd : tensor<?xi32> -> tensor<?x256xf32>
  return
}

// -----

// Tests that RoPE rejects a head count that does not divide the row.
func.func @f(%q: tensor<?x4096xf32>, %pos: tensor<?xi32>) {
  // expected-error@+1 {{input rows of 4096 elements do not divide into 3 heads}}
  %0 = greta.rope %q, %pos heads = 3 head_dim = 128 theta = 5.0e5 : tensor<?x4096xf32>, tensor<?xi32>
  return
}

// -----

// Tests that RoPE's heads times head_dim must be the row length.
func.func @f(%q: tensor<?x4096xf32>, %pos: tensor<?xi32>) {
  // expected-error@+1 {{input rows of 4096 elements are not 32 heads of 64}}
  %0 = greta.rope %q, %pos heads = 32 head_dim = 64 theta = 5.0e5 : tensor<?x4096xf32>, tensor<?xi32>
  return
}

// -----

// Tests that RoPE rejects an odd head_dim.
func.func @f(%q: tensor<?x96xf32>, %pos: tensor<?xi32>) {
  // expected-error@+1 {{head_dim (3) must be even: RoPE rotates pairs}}
  %0 = greta.rope %q, %pos heads = 32 head_dim = 3 theta = 1.0e4 : tensor<?x96xf32>, tensor<?xi32>
  return
}

// -----

// Tests that RoPE rejects theta <= 0.
func.func @f(%q: tensor<?x64xf32>, %pos: tensor<?xi32>) {
  // expected-error@+1 {{theta must be positive, got 0}}
  %0 = greta.rope %q, %pos heads = 2 head_dim = 32 theta = 0.0 : tensor<?x64xf32>, tensor<?xi32>
  return
}

// -----

// Tests that RoPE needs one position per row.
func.func @f(%q: tensor<2x64xf32>, %pos: tensor<3xi32>) {
  // expected-error@+1 {{input has 2 rows but positions has 3}}
  %0 = greta.rope %q, %pos heads = 2 head_dim = 32 theta = 1.0e4 : tensor<2x64xf32>, tensor<3xi32>
  return
}

// -----

// Tests that the RoPE frequency vector must have head_dim / 2 elements.
greta.weight @rope_freqs : !greta.weight<32, f32> {gguf_name = "rope_freqs.weight"}
func.func @f(%q: tensor<?x4096xf32>, %pos: tensor<?xi32>) {
  // expected-error@+1 {{'freqs' @rope_freqs has 32 elements, expected 64 (head_dim / 2)}}
  %0 = greta.rope %q, %pos heads = 32 head_dim = 128 theta = 5.0e5 freqs = @rope_freqs : tensor<?x4096xf32>, tensor<?xi32>
  return
}

// -----

// Tests that attention rejects heads that are not a multiple of kv_heads.
greta.kv_cache @kv0 : !greta.kv<ctx = 16, kv_heads = 6, head_dim = 128, dtype = f16>
func.func @f(%q: tensor<?x4096xf32>, %pos: tensor<?xi32>) {
  // expected-error@+1 {{heads (32) must be a multiple of kv_heads (6)}}
  %0 = greta.attention %q, %pos from @kv0 heads = 32 kv_heads = 6 causal : tensor<?x4096xf32>, tensor<?xi32>
  return
}

// -----

// Tests that attention's kv_heads must be the cache's.
greta.kv_cache @kv0 : !greta.kv<ctx = 16, kv_heads = 8, head_dim = 128, dtype = f16>
func.func @f(%q: tensor<?x4096xf32>, %pos: tensor<?xi32>) {
  // expected-error@+1 {{kv_heads (4) differs from the cache's (8)}}
  %0 = greta.attention %q, %pos from @kv0 heads = 32 kv_heads = 4 causal : tensor<?x4096xf32>, tensor<?xi32>
  return
}

// -----

// Tests that attention's query heads must have the cache's head_dim.
greta.kv_cache @kv0 : !greta.kv<ctx = 16, kv_heads = 8, head_dim = 64, dtype = f16>
func.func @f(%q: tensor<?x4096xf32>, %pos: tensor<?xi32>) {
  // expected-error@+1 {{query rows of 4096 elements are not 32 heads of 64}}
  %0 = greta.attention %q, %pos from @kv0 heads = 32 kv_heads = 8 causal : tensor<?x4096xf32>, tensor<?xi32>
  return
}

// -----

// Tests that attention reads from a greta.kv_cache, not a weight.
greta.weight @w : !greta.weight<64, f32> {gguf_name = "w"}
func.func @f(%q: tensor<?x4096xf32>, %pos: tensor<?xi32>) {
  // expected-error@+1 {{'cache' refers to @w, a 'greta.weight', not a greta.kv_cache}}
  %0 = greta.attention %q, %pos from @w heads = 32 kv_heads = 8 causal : tensor<?x4096xf32>, tensor<?xi32>
  return
}

// -----

// Tests that kv_append rows must be kv_heads * head_dim of the cache.
greta.kv_cache @kv0 : !greta.kv<ctx = 16, kv_heads = 8, head_dim = 128, dtype = f16>
func.func @f(%k: tensor<?x512xf32>, %pos: tensor<?xi32>) {
  // expected-error@+1 {{key rows have 512 elements, expected 1024 (the cache's kv_heads * head_dim)}}
  greta.kv_append %k, %k, %pos into @kv0 : tensor<?x512xf32>, tensor<?xi32>
  return
}

// -----

// Tests that kv_append names an existing cache.
func.func @f(%k: tensor<?x512xf32>, %pos: tensor<?xi32>) {
  // expected-error@+1 {{'cache' refers to @kv9, which is not defined}}
  greta.kv_append %k, %k, %pos into @kv9 : tensor<?x512xf32>, tensor<?xi32>
  return
}

// -----

// Tests that the fused RoPE + append rejects query heads that do not share the cache's KV heads.
greta.kv_cache @kv0 : !greta.kv<ctx = 16, kv_heads = 8, head_dim = 128, dtype = f16>
func.func @f(%q: tensor<?x1536xf32>, %k: tensor<?x1024xf32>, %pos: tensor<?xi32>) {
  // expected-error@+1 {{heads (12) must be a multiple of kv_heads (8)}}
  %0 = greta.rope_kv_append %q, %k, %k, %pos into @kv0 heads = 12 theta = 5.0e5 : tensor<?x1536xf32>, tensor<?x1024xf32>, tensor<?xi32>
  return
}

// -----

// Tests that the fused RoPE + append checks key rows against the cache.
greta.kv_cache @kv0 : !greta.kv<ctx = 16, kv_heads = 8, head_dim = 128, dtype = f16>
func.func @f(%q: tensor<?x4096xf32>, %k: tensor<?x2048xf32>, %pos: tensor<?xi32>) {
  // expected-error@+1 {{key rows have 2048 elements, expected 1024 (the cache's kv_heads * head_dim)}}
  %0 = greta.rope_kv_append %q, %k, %k, %pos into @kv0 heads = 32 theta = 5.0e5 : tensor<?x4096xf32>, tensor<?x2048xf32>, tensor<?xi32>
  return
}

// -----

// Tests that add requires operands of the same shape.
func.func @f(%a: tensor<?x64xf32>, %b: tensor<?x32xf32>) {
  // expected-error@+1 {{requires the same type for all operands and results}}
  %0 = "greta.add"(%a, %b) : (tensor<?x64xf32>, tensor<?x32xf32>) -> tensor<?x64xf32>
  return
}

// -----

// Tests that activations are f32 tensors of rank 2.
func.func @f(%a: tensor<?x64xf16>) {
  // expected-error@+1 {{operand #0 must be 2D tensor of 32-bit float values}}
  %0 = greta.silu_mul %a, %a : tensor<?x64xf16>
  return
}

// -----

// Tests that a last_only LM head produces one row.
greta.weight @output : !greta.weight<64x256, q8_0> {gguf_name = "output.weight"}
func.func @f(%x: tensor<?x64xf32>) {
  // expected-error@+1 {{with last_only must produce 1 row of logits, got ?}}
  %0 = greta.lm_head %x, @output last_only : tensor<?x64xf32> -> tensor<?x256xf32>
  return
}

// -----

// Tests that the LM head's logits have the weight's vocabulary size.
greta.weight @output : !greta.weight<64x256, q8_0> {gguf_name = "output.weight"}
func.func @f(%x: tensor<1x64xf32>) {
  // expected-error@+1 {{logits rows have 128 elements, expected 256 (the weight's vocabulary size)}}
  %0 = greta.lm_head %x, @output : tensor<1x64xf32> -> tensor<1x128xf32>
  return
}

// -----

// Tests that a layer_output audit names its layer.
func.func @f(%x: tensor<1x64xf32>) {
  // expected-error@+1 {{takes a layer index exactly when the point is layer_output}}
  %0 = greta.audit layer_output %x : tensor<1x64xf32>
  return
}

// -----

// Tests that other audit points take no layer.
func.func @f(%x: tensor<1x64xf32>) {
  // expected-error@+1 {{takes a layer index exactly when the point is layer_output}}
  %0 = greta.audit final_rmsnorm %x layer 0 : tensor<1x64xf32>
  return
}

// -----

// Tests that an unknown audit point is a parse error.
func.func @f(%x: tensor<1x64xf32>) {
  // expected-error@+2 {{expected ::mlir::greta::AuditPoint to be one of: final_rmsnorm, lm_head, layer_output}}
  // expected-error@+1 {{failed to parse Greta_AuditPointAttr}}
  %0 = greta.audit attention %x : tensor<1x64xf32>
  return
}
