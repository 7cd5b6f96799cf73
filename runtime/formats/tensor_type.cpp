#include "runtime/formats/tensor_type.h"

#include "runtime/support/checked_math.h"

#include <algorithm>
#include <array>
#include <cctype>

namespace greta {
namespace {

// Block geometry per ggml's type_traits table (matches gguf-py's GGML_QUANT_SIZES).
constexpr std::array kTraits = {
    TensorTypeTraits{TensorType::F32, "F32", 1, 4},
    TensorTypeTraits{TensorType::F16, "F16", 1, 2},
    TensorTypeTraits{TensorType::Q4_0, "Q4_0", 32, 18},
    TensorTypeTraits{TensorType::Q4_1, "Q4_1", 32, 20},
    TensorTypeTraits{TensorType::Q5_0, "Q5_0", 32, 22},
    TensorTypeTraits{TensorType::Q5_1, "Q5_1", 32, 24},
    TensorTypeTraits{TensorType::Q8_0, "Q8_0", 32, 34},
    TensorTypeTraits{TensorType::Q8_1, "Q8_1", 32, 40},
    TensorTypeTraits{TensorType::Q2_K, "Q2_K", 256, 84},
    TensorTypeTraits{TensorType::Q3_K, "Q3_K", 256, 110},
    TensorTypeTraits{TensorType::Q4_K, "Q4_K", 256, 144},
    TensorTypeTraits{TensorType::Q5_K, "Q5_K", 256, 176},
    TensorTypeTraits{TensorType::Q6_K, "Q6_K", 256, 210},
    TensorTypeTraits{TensorType::Q8_K, "Q8_K", 256, 292},
    TensorTypeTraits{TensorType::IQ2_XXS, "IQ2_XXS", 256, 66},
    TensorTypeTraits{TensorType::IQ2_XS, "IQ2_XS", 256, 74},
    TensorTypeTraits{TensorType::IQ3_XXS, "IQ3_XXS", 256, 98},
    TensorTypeTraits{TensorType::IQ1_S, "IQ1_S", 256, 50},
    TensorTypeTraits{TensorType::IQ4_NL, "IQ4_NL", 32, 18},
    TensorTypeTraits{TensorType::IQ3_S, "IQ3_S", 256, 110},
    TensorTypeTraits{TensorType::IQ2_S, "IQ2_S", 256, 82},
    TensorTypeTraits{TensorType::IQ4_XS, "IQ4_XS", 256, 136},
    TensorTypeTraits{TensorType::I8, "I8", 1, 1},
    TensorTypeTraits{TensorType::I16, "I16", 1, 2},
    TensorTypeTraits{TensorType::I32, "I32", 1, 4},
    TensorTypeTraits{TensorType::I64, "I64", 1, 8},
    TensorTypeTraits{TensorType::F64, "F64", 1, 8},
    TensorTypeTraits{TensorType::IQ1_M, "IQ1_M", 256, 56},
    TensorTypeTraits{TensorType::BF16, "BF16", 1, 2},
    TensorTypeTraits{TensorType::TQ1_0, "TQ1_0", 256, 54},
    TensorTypeTraits{TensorType::TQ2_0, "TQ2_0", 256, 66},
    TensorTypeTraits{TensorType::MXFP4, "MXFP4", 32, 17},
};

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

} // namespace

std::optional<TensorTypeTraits> tensorTypeTraits(uint32_t id) {
  for (const auto &traits : kTraits)
    if (static_cast<uint32_t>(traits.type) == id)
      return traits;
  return std::nullopt;
}

const TensorTypeTraits &traitsOf(TensorType type) {
  for (const auto &traits : kTraits)
    if (traits.type == type)
      return traits;
  fail("internal error: tensor type id {} has no traits", static_cast<uint32_t>(type));
}

std::optional<TensorType> parseTensorType(std::string_view name) {
  for (const auto &traits : kTraits)
    if (equalsIgnoreCase(traits.name, name))
      return traits.type;
  return std::nullopt;
}

bool isSupportedForCompute(TensorType type) {
  switch (type) {
  case TensorType::F32:
  case TensorType::F16:
  case TensorType::BF16:
  case TensorType::Q8_0:
  case TensorType::Q4_0:
  case TensorType::Q4_K:
  case TensorType::Q5_K:
  case TensorType::Q6_K:
    return true;
  default:
    return false;
  }
}

uint64_t rowBytes(TensorType type, uint64_t elements, std::string_view what) {
  const auto &traits = traitsOf(type);
  if (elements % traits.blockElements != 0)
    fail("{}: row of {} elements is not a multiple of the {} block size {}", what, elements,
         traits.name, traits.blockElements);
  return checkedMul(elements / traits.blockElements, traits.blockBytes, what);
}

} // namespace greta
