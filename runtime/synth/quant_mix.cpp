#include "runtime/synth/quant_mix.h"

#include "runtime/support/error.h"

#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <cctype>

namespace greta::synth {
namespace {

struct MixInfo {
  QuantMix mix;
  std::string_view name;
  uint32_t llamaFileType; // llama.h: LLAMA_FTYPE_ALL_F32 = 0, MOSTLY_F16 = 1, MOSTLY_Q8_0 = 7,
                          // MOSTLY_Q4_K_M = 15
};

constexpr std::array kMixes = {
    MixInfo{QuantMix::F32, "f32", 0},
    MixInfo{QuantMix::F16, "f16", 1},
    MixInfo{QuantMix::Q8_0, "q8_0", 7},
    MixInfo{QuantMix::Q4_K_M, "q4_k_m", 15},
};

const MixInfo &infoOf(QuantMix mix) {
  return *std::find_if(kMixes.begin(), kMixes.end(),
                       [&](const MixInfo &info) { return info.mix == mix; });
}

bool isMatrix(TensorRole role) {
  return role != TensorRole::Norm && role != TensorRole::RopeFreqs;
}

TensorType q4KMType(TensorRole role, uint32_t layer, uint32_t layers, bool hasOutput) {
  switch (role) {
  case TensorRole::Output:
    return TensorType::Q6_K;
  case TensorRole::TokenEmbedding:
    // Without output.weight the embedding doubles as the LM head and gets the LM head's type.
    return hasOutput ? TensorType::Q4_K : TensorType::Q6_K;
  case TensorRole::AttnV:
  case TensorRole::FfnDown:
    return usesMoreBits(layer, layers) ? TensorType::Q6_K : TensorType::Q4_K;
  default:
    return TensorType::Q4_K;
  }
}

} // namespace

QuantMix parseQuantMix(std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const MixInfo &info : kMixes)
    if (info.name == lower)
      return info.mix;
  fail("unknown quant '{}' (known: {})", name, fmt::join(quantMixNames(), ", "));
}

std::string_view nameOf(QuantMix mix) { return infoOf(mix).name; }

std::vector<std::string> quantMixNames() {
  std::vector<std::string> names;
  for (const MixInfo &info : kMixes)
    names.emplace_back(info.name);
  return names;
}

uint32_t llamaFileType(QuantMix mix) { return infoOf(mix).llamaFileType; }

bool usesMoreBits(uint32_t layer, uint32_t layers) {
  const uint32_t eighth = layers / 8;
  return layer < eighth || layer >= 7 * layers / 8 || (layer - eighth) % 3 == 2;
}

TensorType tensorTypeFor(QuantMix mix, TensorRole role, uint32_t layer, uint32_t layers,
                         bool hasOutput) {
  // Norms and RoPE factors are tiny and precision-critical: F32 in every llama.cpp file type.
  if (!isMatrix(role))
    return TensorType::F32;
  switch (mix) {
  case QuantMix::F32:
    return TensorType::F32;
  case QuantMix::F16:
    return TensorType::F16;
  case QuantMix::Q8_0:
    return TensorType::Q8_0;
  case QuantMix::Q4_K_M:
    return q4KMType(role, layer, layers, hasOutput);
  }
  fail("tensorTypeFor: quant mix {} has no rule", static_cast<int>(mix));
}

} // namespace greta::synth
