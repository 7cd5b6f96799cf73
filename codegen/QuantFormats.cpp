//===- QuantFormats.cpp - Weight storage types as kernels read them -------===//

#include "codegen/QuantFormats.h"

#include <iterator>

namespace greta::codegen {
namespace {

using mlir::greta::QuantType;

/// Indexed by QuantType. Sizes as in ggml (and runtime/formats/quant_blocks.h).
// clang-format off
constexpr QuantFormat kFormats[] = {
    {QuantType::F32,  "F32",  "f32",  1,   4,   "generic", kChunkElements, "f32"},
    {QuantType::F16,  "F16",  "f16",  1,   2,   "f16",     8,              "f32"}, // 8 binary16 in 16 bytes
    {QuantType::BF16, "BF16", "bf16", 1,   2,   "generic", kChunkElements, "f32"},
    {QuantType::Q8_0, "Q8_0", "q8_0", 32,  34,  "q8_0",    16,             "f32"}, // half a block's int8s
    {QuantType::Q4_0, "Q4_0", "q4_0", 32,  18,  "generic", kChunkElements, "f32"},
    {QuantType::Q4_K, "Q4_K", "q4_k", 256, 144, "q4_k",    32,             "i16"}, // 16 bytes of nibbles
    {QuantType::Q5_K, "Q5_K", "q5_k", 256, 176, "generic", kChunkElements, "f32"},
    {QuantType::Q6_K, "Q6_K", "q6_k", 256, 210, "q6_k",    32,             "i16"}, // 16 bytes of low nibbles
};
// clang-format on

constexpr bool isIndexedByType() {
  for (size_t i = 0; i < std::size(kFormats); ++i)
    if (static_cast<size_t>(kFormats[i].type) != i ||
        kFormats[i].blockElements % (kFormats[i].blockElements == 1 ? 1 : kChunkElements) != 0 ||
        (kFormats[i].blockElements > 1 &&
         kFormats[i].blockElements % kFormats[i].gemvPieceValues != 0))
      return false;
  return true;
}
static_assert(std::size(kFormats) == mlir::greta::getMaxEnumValForQuantType() + 1 &&
                  isIndexedByType(),
              "one QuantFormat per QuantType, in enum order, with whole chunks and gemv pieces per "
              "block");

} // namespace

const QuantFormat &getQuantFormat(QuantType type) { return kFormats[static_cast<uint32_t>(type)]; }

int64_t gemvStagedBytes(const QuantFormat &format, int64_t values) {
  if (format.gemvInputDtype != "i16")
    return values * 4;
  constexpr int64_t kGroupValues = 32, kSumValues = 16; // matmul_gemv.hip's int16 form
  return values * 2 + llvm::divideCeil(values, kGroupValues) * 4 +
         llvm::divideCeil(values, kSumValues) * 4;
}

std::optional<int64_t> getRowBytes(QuantType type, int64_t elements) {
  const QuantFormat &format = getQuantFormat(type);
  if (elements <= 0 || elements % format.blockElements != 0)
    return std::nullopt;
  return elements / format.blockElements * format.blockBytes;
}

} // namespace greta::codegen
