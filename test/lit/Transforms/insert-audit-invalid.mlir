// RUN: greta-opt %s --split-input-file --greta-insert-audit -verify-diagnostics
// RUN: not greta-opt %s --greta-insert-audit=audit=some 2>&1 | FileCheck %s --check-prefix=LEVEL

// Tests that an unknown audit level is refused, naming the valid ones.
// LEVEL: error: greta-insert-audit: audit='some' is not one of none, default, all-layers

greta.weight @token_embd : !greta.weight<64x256, q8_0> {gguf_name = "token_embd.weight"}
// Tests that an LM head whose input no RMSNorm produced is reported: there is no final
// RMSNorm to audit.
func.func @decode(%tokens: tensor<1xi32>) -> tensor<1x256xf32>
    attributes {greta.phase = #greta<phase decode>} {
  %x = greta.embedding %tokens, @token_embd : tensor<1xi32> -> tensor<1x64xf32>
  // expected-error@+1 {{reads a value that no RMSNorm produced}}
  %logits = greta.lm_head %x, @token_embd : tensor<1x64xf32> -> tensor<1x256xf32>
  return %logits : tensor<1x256xf32>
}
