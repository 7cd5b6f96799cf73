//===- quant_mix.h - Which ggml type each tensor of a synthetic model gets -===//
//
// A "quant mix" is llama.cpp's file type (LLAMA_FTYPE_*): a rule giving each tensor its type.
// greta-synth reproduces the rules of llama.cpp's converter (f32, f16, q8_0) and of
// llama-quantize (q4_k_m), so synthetic files have the layout of the real ones they stand for.
//
// Thread-safety: pure functions.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/formats/tensor_type.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace greta::synth {

enum class QuantMix { F32, F16, Q8_0, Q4_K_M };

/// The kind of a tensor, as far as the type rules care.
enum class TensorRole {
  TokenEmbedding,
  Output,
  Norm,       ///< every RMSNorm weight
  RopeFreqs,  ///< Llama-3.1 RoPE frequency factors
  AttnQ,
  AttnK,
  AttnV,
  AttnOutput,
  FfnGate,
  FfnUp,
  FfnDown,
};

/// Parses "f32", "f16", "q8_0", "q4_k_m" (case-insensitive); Error listing them otherwise.
QuantMix parseQuantMix(std::string_view name);
std::string_view nameOf(QuantMix mix);
std::vector<std::string> quantMixNames();

/// `general.file_type`: llama.cpp's LLAMA_FTYPE value of the mix.
uint32_t llamaFileType(QuantMix mix);

/// llama-quantize's `use_more_bits`: the first and last eighth of the layers, and every third
/// layer between, get more bits in the *_M mixes.
bool usesMoreBits(uint32_t layer, uint32_t layers);

/// The type of a tensor with `role` in layer `layer` of `layers`. `hasOutput` is false for tied
/// embeddings, where llama-quantize treats token_embd as the output matrix.
TensorType tensorTypeFor(QuantMix mix, TensorRole role, uint32_t layer, uint32_t layers,
                         bool hasOutput);

} // namespace greta::synth
