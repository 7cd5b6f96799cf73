// RUN: greta-opt %s --split-input-file --greta-specialize-phases -verify-diagnostics

// Tests that a module without @forward (the importer's output) is refused.
// expected-error@below {{greta-specialize-phases expects a func.func @forward}}
module {
  greta.weight @output_norm : !greta.weight<64, f32> {gguf_name = "output_norm.weight"}
}

// -----

greta.weight @token_embd : !greta.weight<64x256, q8_0> {gguf_name = "token_embd.weight"}
// Tests that an op outside the greta dialect in @forward is refused rather than re-typed
// blindly.
func.func @forward(%tokens: tensor<?xi32>, %pos: tensor<?xi32>) -> tensor<?x256xf32> {
  %x = greta.embedding %tokens, @token_embd : tensor<?xi32> -> tensor<?x64xf32>
  // expected-error@+1 {{cannot be specialised into phases: @forward may hold greta ops only}}
  %c = tensor.empty() : tensor<4x64xf32>
  %logits = greta.lm_head %x, @token_embd : tensor<?x64xf32> -> tensor<?x256xf32>
  return %logits : tensor<?x256xf32>
}

// -----

greta.weight @token_embd : !greta.weight<64x256, q8_0> {gguf_name = "token_embd.weight"}
// Tests that a @forward without an LM head is refused: the phases return logits.
// expected-error@+1 {{has no greta.lm_head}}
func.func @forward(%tokens: tensor<?xi32>, %pos: tensor<?xi32>) -> tensor<?x64xf32> {
  %x = greta.embedding %tokens, @token_embd : tensor<?xi32> -> tensor<?x64xf32>
  return %x : tensor<?x64xf32>
}

// -----

greta.weight @token_embd : !greta.weight<64x256, q8_0> {gguf_name = "token_embd.weight"}
// Tests that a symbol already called @decode is reported, not overwritten.
func.func @forward(%tokens: tensor<?xi32>, %pos: tensor<?xi32>) -> tensor<?x256xf32> {
  %x = greta.embedding %tokens, @token_embd : tensor<?xi32> -> tensor<?x64xf32>
  %logits = greta.lm_head %x, @token_embd : tensor<?x64xf32> -> tensor<?x256xf32>
  return %logits : tensor<?x256xf32>
}
// expected-error@+1 {{is in the way: greta-specialize-phases creates @decode}}
func.func @decode() {
  return
}

// -----

greta.weight @token_embd : !greta.weight<64x256, q8_0> {gguf_name = "token_embd.weight"}
// Tests that a @forward that is already specialised is refused.
// expected-error@+1 {{already carries greta.phase}}
func.func @forward(%tokens: tensor<1xi32>, %pos: tensor<1xi32>) -> tensor<1x256xf32>
    attributes {greta.phase = #greta<phase decode>} {
  %x = greta.embedding %tokens, @token_embd : tensor<1xi32> -> tensor<1x64xf32>
  %logits = greta.lm_head %x, @token_embd : tensor<1x64xf32> -> tensor<1x256xf32>
  return %logits : tensor<1x256xf32>
}

// -----

greta.weight @token_embd : !greta.weight<64x256, q8_0> {gguf_name = "token_embd.weight"}
// Tests that two LM heads are refused: which one would prefill's last_only apply to?
func.func @forward(%tokens: tensor<?xi32>, %pos: tensor<?xi32>) -> tensor<?x256xf32> {
  %x = greta.embedding %tokens, @token_embd : tensor<?xi32> -> tensor<?x64xf32>
  %a = greta.lm_head %x, @token_embd : tensor<?x64xf32> -> tensor<?x256xf32>
  // expected-error@+1 {{is a second LM head in @forward}}
  %b = greta.lm_head %x, @token_embd : tensor<?x64xf32> -> tensor<?x256xf32>
  return %b : tensor<?x256xf32>
}
