//===- quant.cpp - Row dequantization and quantization entry points --------===//
//
// Validates a row's element and byte counts against the type's block geometry, then runs the
// type's codec (quant_blocks.h) over its whole blocks. One table says which types are supported,
// so dequantizeRow and quantizeRow cannot disagree.
//
//===----------------------------------------------------------------------===//
#include "runtime/formats/quant.h"

#include "runtime/formats/quant_blocks.h"
#include "runtime/support/error.h"

#include <array>
#include <cmath>
#include <string>

namespace greta {
namespace {

struct RowCodec {
  TensorType type;
  void (*dequantize)(const uint8_t *src, float *dst, size_t blocks);
  void (*quantize)(const float *src, uint8_t *dst, size_t blocks);
  /// Block types derive scales from the data: a NaN or Inf would corrupt its whole block.
  bool needsFiniteInput;
};

constexpr std::array kCodecs = {
    RowCodec{TensorType::F32, quant::dequantizeF32, quant::quantizeF32, false},
    RowCodec{TensorType::F16, quant::dequantizeF16, quant::quantizeF16, false},
    RowCodec{TensorType::BF16, quant::dequantizeBF16, quant::quantizeBF16, false},
    RowCodec{TensorType::Q8_0, quant::dequantizeQ8_0, quant::quantizeQ8_0, true},
    RowCodec{TensorType::Q4_0, quant::dequantizeQ4_0, quant::quantizeQ4_0, true},
    RowCodec{TensorType::Q4_K, quant::dequantizeQ4_K, quant::quantizeQ4_K, true},
    RowCodec{TensorType::Q5_K, quant::dequantizeQ5_K, quant::quantizeQ5_K, true},
    RowCodec{TensorType::Q6_K, quant::dequantizeQ6_K, quant::quantizeQ6_K, true},
};

std::string supportedNames() {
  std::string names;
  for (const auto &codec : kCodecs)
    names += (names.empty() ? "" : ", ") + std::string(nameOf(codec.type));
  return names;
}

const RowCodec &codecOf(TensorType type, std::string_view operation) {
  for (const auto &codec : kCodecs)
    if (codec.type == type)
      return codec;
  fail("{}: tensor type {} is not supported (supported: {})", operation, nameOf(type),
       supportedNames());
}

/// Checks that `elements` is whole blocks and `bytes` is exactly their size; returns the count
/// of blocks.
size_t checkRow(TensorType type, size_t elements, size_t bytes, std::string_view operation) {
  const std::string what = fmt::format("{} {}", operation, nameOf(type));
  const uint64_t expected = rowBytes(type, elements, what);
  if (expected != bytes)
    fail("{}: row of {} elements takes {} bytes, but the buffer has {}", what, elements, expected,
         bytes);
  return elements / traitsOf(type).blockElements;
}

} // namespace

void dequantizeRow(TensorType type, std::span<const uint8_t> src, std::span<float> dst) {
  const RowCodec &codec = codecOf(type, "dequantizeRow");
  const size_t blocks = checkRow(type, dst.size(), src.size(), "dequantizeRow");
  codec.dequantize(src.data(), dst.data(), blocks);
}

void quantizeRow(TensorType type, std::span<const float> src, std::span<uint8_t> dst) {
  const RowCodec &codec = codecOf(type, "quantizeRow");
  const size_t blocks = checkRow(type, src.size(), dst.size(), "quantizeRow");
  if (codec.needsFiniteInput) {
    for (size_t i = 0; i < src.size(); ++i)
      if (!std::isfinite(src[i]))
        fail("quantizeRow {}: element {} is {}; block types need finite values", nameOf(type), i,
             src[i]);
  }
  codec.quantize(src.data(), dst.data(), blocks);
}

} // namespace greta
