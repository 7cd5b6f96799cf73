//===- weight_scales.cpp - Where a quantized block keeps its scales --------===//
#include "runtime/engine/weight_scales.h"

#include "runtime/support/fnv1a.h"

namespace greta::engine {

std::optional<ScaleFields> scaleFieldsOf(TensorType type) {
  switch (type) {
  case TensorType::Q8_0:
  case TensorType::Q4_0:
    return ScaleFields{.offset = 0, .bytes = 2};
  case TensorType::Q4_K:
  case TensorType::Q5_K:
    return ScaleFields{.offset = 0, .bytes = 16};
  case TensorType::Q6_K:
    return ScaleFields{.offset = 192, .bytes = 18};
  default:
    return std::nullopt;
  }
}

uint64_t scalesHash(const cpu::WeightView &weight) {
  Fnv1a64 hash;
  const auto fields = scaleFieldsOf(weight.type);
  if (!fields) {
    hash.update(std::span<const uint8_t>(weight.data, weight.rows * weight.rowBytes));
    return hash.value();
  }
  const uint32_t blockBytes = traitsOf(weight.type).blockBytes;
  for (uint64_t r = 0; r < weight.rows; ++r) {
    const std::span<const uint8_t> row = weight.row(r);
    for (uint64_t at = 0; at + blockBytes <= row.size(); at += blockBytes)
      hash.update(row.subspan(at + fields->offset, fields->bytes));
  }
  return hash.value();
}

} // namespace greta::engine
