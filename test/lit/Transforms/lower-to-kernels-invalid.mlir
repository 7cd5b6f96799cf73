// RUN: greta-opt %s --split-input-file --verify-diagnostics --greta-lower-to-kernels
// RUN: not greta-opt %s --split-input-file --greta-lower-to-kernels=target=sm_12 2>&1 | FileCheck %s --check-prefix=TARGET

// Tests that a target missing from the tile table is refused, naming the known ones.
// TARGET: greta-lower-to-kernels: unknown target 'sm_12' (known: sm_90, gfx942, gfx90a, cpu)

// Tests that a function that was never specialised into a phase is refused.
greta.weight @e : !greta.weight<64x256, f32> {gguf_name = "token_embd.weight"}
// expected-error@+1 {{has no greta.phase; run greta-specialize-phases}}
func.func @forward(%t: tensor<?xi32>, %p: tensor<?xi32>) -> tensor<?x64xf32> {
  %x = greta.embedding %t, @e : tensor<?xi32> -> tensor<?x64xf32>
  return %x : tensor<?x64xf32>
}

// -----

// Tests that a matrix product without a route (select-routes did not run) is refused.
greta.weight @e : !greta.weight<64x256, f32> {gguf_name = "token_embd.weight"}
greta.weight @w : !greta.weight<64x64, f32> {gguf_name = "w.weight"}
func.func @decode(%t: tensor<1xi32>, %p: tensor<1xi32>) -> tensor<1x256xf32>
    attributes {greta.phase = #greta<phase decode>} {
  %x = greta.embedding %t, @e : tensor<1xi32> -> tensor<1x64xf32>
  // expected-error@+1 {{has no route; run greta-select-routes before lowering}}
  %y = greta.matmul %x, @w : tensor<1x64xf32> -> tensor<1x64xf32>
  %l = greta.lm_head %y, @e route gemv : tensor<1x64xf32> -> tensor<1x256xf32>
  return %l : tensor<1x256xf32>
}

// -----

// Tests that an op with no kernel family (here an arith constant) is refused.
func.func @decode(%t: tensor<1xi32>, %p: tensor<1xi32>) -> tensor<1x64xf32>
    attributes {greta.phase = #greta<phase decode>} {
  // expected-error@+1 {{has no kernel family in greta-lower-to-kernels}}
  %q = arith.constant dense<0.0> : tensor<1x64xf32>
  return %q : tensor<1x64xf32>
}

// -----

// Tests that non-causal attention, which the bundle's attention family cannot express, is
// refused.
greta.weight @e : !greta.weight<64x256, f32> {gguf_name = "token_embd.weight"}
greta.kv_cache @kv0 : !greta.kv<ctx = 128, kv_heads = 2, head_dim = 16, dtype = f32>
func.func @decode(%t: tensor<1xi32>, %p: tensor<1xi32>) -> tensor<1x256xf32>
    attributes {greta.phase = #greta<phase decode>} {
  %x = greta.embedding %t, @e : tensor<1xi32> -> tensor<1x64xf32>
  // expected-error@+1 {{is not causal; the bundle's attention family is causal}}
  %a = greta.attention %x, %p from @kv0 heads = 4 kv_heads = 2 : tensor<1x64xf32>, tensor<1xi32>
  %l = greta.lm_head %a, @e route gemv : tensor<1x64xf32> -> tensor<1x256xf32>
  return %l : tensor<1x256xf32>
}

// -----

// Tests that a KV cache of an element type the kernels do not store (bf16) is refused, naming
// the cache and the types they do.
greta.weight @e : !greta.weight<64x256, f32> {gguf_name = "token_embd.weight"}
greta.kv_cache @kv0 : !greta.kv<ctx = 128, kv_heads = 2, head_dim = 16, dtype = bf16>
func.func @decode(%t: tensor<1xi32>, %p: tensor<1xi32>) -> tensor<1x256xf32>
    attributes {greta.phase = #greta<phase decode>} {
  %x = greta.embedding %t, @e : tensor<1xi32> -> tensor<1x64xf32>
  // expected-error@+1 {{uses the KV cache @kv0 of 'bf16'; the kernels store KV caches as f32 or f16}}
  %a = greta.attention %x, %p from @kv0 heads = 4 kv_heads = 2 causal : tensor<1x64xf32>, tensor<1xi32>
  %l = greta.lm_head %a, @e route gemv : tensor<1x64xf32> -> tensor<1x256xf32>
  return %l : tensor<1x256xf32>
}

// -----

// Tests that a prefill LM head over every row is refused: the bundle's logits are one row.
greta.weight @e : !greta.weight<64x256, f32> {gguf_name = "token_embd.weight"}
func.func @prefill(%t: tensor<?xi32>, %p: tensor<?xi32>) -> tensor<?x256xf32>
    attributes {greta.phase = #greta<phase prefill>} {
  %x = greta.embedding %t, @e : tensor<?xi32> -> tensor<?x64xf32>
  // expected-error@+1 {{projects every row; the bundle's lm_head writes the last row's logits (mark it last_only)}}
  %l = greta.lm_head %x, @e route gemm : tensor<?x64xf32> -> tensor<?x256xf32>
  return %l : tensor<?x256xf32>
}

// -----

// Tests that RoPE of a value that is read again later is refused: it rotates in place and
// the lowering has no copy.
greta.weight @e : !greta.weight<64x256, f32> {gguf_name = "token_embd.weight"}
func.func @decode(%t: tensor<1xi32>, %p: tensor<1xi32>) -> tensor<1x256xf32>
    attributes {greta.phase = #greta<phase decode>} {
  %x = greta.embedding %t, @e : tensor<1xi32> -> tensor<1x64xf32>
  // expected-error@+1 {{updates its input in place, but the value is used again later}}
  %r = greta.rope %x, %p heads = 4 head_dim = 16 theta = 1.0e4 : tensor<1x64xf32>, tensor<1xi32>
  %s = greta.add %x, %r : tensor<1x64xf32>
  %l = greta.lm_head %s, @e route gemv : tensor<1x64xf32> -> tensor<1x256xf32>
  return %l : tensor<1x256xf32>
}

// -----

// Tests that a GEMM whose K is not a whole number of K stages is refused.
greta.weight @e : !greta.weight<40x256, f32> {gguf_name = "token_embd.weight"}
greta.weight @w : !greta.weight<40x64, f32> {gguf_name = "w.weight"}
func.func @prefill(%t: tensor<?xi32>, %p: tensor<?xi32>) -> tensor<?x64xf32>
    attributes {greta.phase = #greta<phase prefill>} {
  %x = greta.embedding %t, @e : tensor<?xi32> -> tensor<?x40xf32>
  // expected-error@+1 {{reduces over K = 40, not a multiple of the gemm route's tile_k = 32 (sm_90)}}
  %y = greta.matmul %x, @w route gemm : tensor<?x40xf32> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

// Tests that a phase returning something other than the LM head's logits is refused.
greta.weight @e : !greta.weight<64x256, f32> {gguf_name = "token_embd.weight"}
func.func @decode(%t: tensor<1xi32>, %p: tensor<1xi32>) -> tensor<1x64xf32>
    attributes {greta.phase = #greta<phase decode>} {
  %x = greta.embedding %t, @e : tensor<1xi32> -> tensor<1x64xf32>
  // expected-error@+1 {{returns a value that is not the logits of a greta.lm_head}}
  return %x : tensor<1x64xf32>
}

// -----

// Tests that a norm weight the kernels cannot read as f32 is refused.
greta.weight @e : !greta.weight<64x256, f32> {gguf_name = "token_embd.weight"}
greta.weight @norm : !greta.weight<64, f16> {gguf_name = "output_norm.weight"}
func.func @decode(%t: tensor<1xi32>, %p: tensor<1xi32>) -> tensor<1x256xf32>
    attributes {greta.phase = #greta<phase decode>} {
  %x = greta.embedding %t, @e : tensor<1xi32> -> tensor<1x64xf32>
  // expected-error@+1 {{reads the vector weight @norm as f16; the kernels read vector weights (norms, rope_freqs) as f32}}
  %n = greta.rms_norm %x, @norm eps = 1.0e-5 : tensor<1x64xf32>
  %l = greta.lm_head %n, @e route gemv : tensor<1x64xf32> -> tensor<1x256xf32>
  return %l : tensor<1x256xf32>
}
