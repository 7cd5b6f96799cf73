// RUN: greta-opt %s --split-input-file --verify-diagnostics

// Tests that an unknown quant type is a parse error that lists the known ones.
// expected-error@+1 {{unknown quant type 'q3_k' (expected one of f32, f16, bf16, q8_0, q4_0, q4_k, q5_k, q6_k)}}
greta.weight @w : !greta.weight<256, q3_k> {gguf_name = "w"}

// -----

// Tests that a K-quant row length must be a multiple of 256.
// expected-error@+1 {{!greta.weight row length 4000 is not a multiple of the q4_k block size (256)}}
greta.weight @w : !greta.weight<4000x32, q4_k> {gguf_name = "w"}

// -----

// Tests that a q8_0 row length must be a multiple of 32 (the row is the first dimension).
// expected-error@+1 {{!greta.weight row length 48 is not a multiple of the q8_0 block size (32)}}
greta.weight @w : !greta.weight<48x64, q8_0> {gguf_name = "w"}

// -----

// Tests that weight dimensions must be positive.
// expected-error@+1 {{!greta.weight dimensions must be positive}}
greta.weight @w : !greta.weight<64x0, f32> {gguf_name = "w"}

// -----

// Tests that weights are vectors or matrices.
// expected-error@+1 {{!greta.weight must have 1 or 2 dimensions, got 3}}
greta.weight @w : !greta.weight<64x2x2, f32> {gguf_name = "w"}

// -----

// Tests that weight shapes are static.
// expected-error@+1 {{expected static shape}}
greta.weight @w : !greta.weight<?x64, f32> {gguf_name = "w"}

// -----

// Tests that a KV cache stores f32, f16 or bf16.
// expected-error@+1 {{!greta.kv dtype must be f32, f16 or bf16, got 'i8'}}
greta.kv_cache @kv0 : !greta.kv<ctx = 16, kv_heads = 8, head_dim = 128, dtype = i8>

// -----

// Tests that KV-cache sizes must be positive.
// expected-error@+1 {{!greta.kv ctx, kv_heads and head_dim must be positive}}
greta.kv_cache @kv0 : !greta.kv<ctx = 16, kv_heads = 0, head_dim = 128, dtype = f16>

// -----

// Tests that the model's heads must be a multiple of kv_heads.
// expected-error@+1 {{#greta.model heads (32) must be a multiple of kv_heads (5)}}
module attributes {greta.model = #greta.model<layers = 1, dim = 4096, heads = 32, kv_heads = 5, ffn = 1, vocab = 1, context = 1, rope_theta = 1.0e4, eps = 1.0e-5, tied = false>} {}

// -----

// Tests that the model's eps must be positive.
// expected-error@+1 {{#greta.model eps must be positive, got 0}}
module attributes {greta.model = #greta.model<layers = 1, dim = 64, heads = 4, kv_heads = 4, ffn = 1, vocab = 1, context = 1, rope_theta = 1.0e4, eps = 0.0, tied = false>} {}

// -----

// Tests that the model's rope_theta must be positive.
// expected-error@+1 {{#greta.model rope_theta must be positive, got -1}}
module attributes {greta.model = #greta.model<layers = 1, dim = 64, heads = 4, kv_heads = 4, ffn = 1, vocab = 1, context = 1, rope_theta = -1.0, eps = 1.0e-5, tied = false>} {}

// -----

// Tests that the model's counts must be positive.
// expected-error@+1 {{#greta.model 'layers' must be positive, got 0}}
module attributes {greta.model = #greta.model<layers = 0, dim = 64, heads = 4, kv_heads = 4, ffn = 1, vocab = 1, context = 1, rope_theta = 1.0e4, eps = 1.0e-5, tied = false>} {}

// -----

// Tests that head_dim may only be left out when dim is a multiple of heads.
// expected-error@+1 {{dim (100) is not a multiple of heads (8); give head_dim explicitly}}
module attributes {greta.model = #greta.model<layers = 1, dim = 100, heads = 8, kv_heads = 4, ffn = 1, vocab = 1, context = 1, rope_theta = 1.0e4, eps = 1.0e-5, tied = false>} {}

// -----

// Tests that the model's head_dim must be even.
// expected-error@+1 {{#greta.model head_dim (5) must be even: RoPE rotates pairs}}
module attributes {greta.model = #greta.model<layers = 1, dim = 40, heads = 8, kv_heads = 4, ffn = 1, vocab = 1, context = 1, rope_theta = 1.0e4, eps = 1.0e-5, tied = false>} {}

// -----

// Tests that every required model key must be present.
// expected-error@+1 {{#greta.model is missing 'vocab'}}
module attributes {greta.model = #greta.model<layers = 1, dim = 64, heads = 4, kv_heads = 4, ffn = 1, context = 1, rope_theta = 1.0e4, eps = 1.0e-5, tied = false>} {}

// -----

// Tests that an unknown model key is rejected.
// expected-error@+1 {{unknown #greta.model key 'experts'}}
module attributes {greta.model = #greta.model<layers = 1, experts = 8>} {}

// -----

// Tests that a model key may appear only once.
// expected-error@+1 {{#greta.model has 'dim' twice}}
module attributes {greta.model = #greta.model<dim = 64, dim = 64>} {}

// -----

// Tests that tied is a boolean.
// expected-error@+1 {{'tied' must be true or false, got 'yes'}}
module attributes {greta.model = #greta.model<tied = yes>} {}

// -----

// Tests that an unknown enum value in an attribute is a parse error.
// expected-error@+2 {{expected ::mlir::greta::Route to be one of: gemv, gemm}}
// expected-error@+1 {{failed to parse Greta_RouteAttr}}
module attributes {a.route = #greta<route mfma>} {}

// -----

// Tests that greta.phase must be a phase attribute.
// expected-error@+1 {{'greta.phase' must be a #greta<phase ...> attribute, got 1 : i64}}
func.func @f() attributes {greta.phase = 1} {
  return
}

// -----

// Tests that greta.phase belongs on functions.
// expected-error@+1 {{'greta.phase' belongs on a function, not on 'builtin.module'}}
module attributes {greta.phase = #greta<phase decode>} {}

// -----

// Tests that greta.model belongs on the module.
// expected-error@+1 {{'greta.model' belongs on the module, not on 'func.func'}}
func.func @f() attributes {greta.model = #greta.model<layers = 1, dim = 64, heads = 4, kv_heads = 4, ffn = 1, vocab = 1, context = 1, rope_theta = 1.0e4, eps = 1.0e-5, tied = false>} {
  return
}

// -----

// Tests that greta.model must be a #greta.model.
// expected-error@+1 {{'greta.model' must be a #greta.model attribute, got "llama"}}
module attributes {greta.model = "llama"} {}

// -----

// Tests that unknown greta.* discardable attributes are rejected.
// expected-error@+1 {{unknown greta attribute 'greta.phases'}}
func.func @f() attributes {greta.phases = #greta<phase decode>} {
  return
}
