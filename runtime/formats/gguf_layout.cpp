#include "runtime/formats/gguf_layout.h"

#include "runtime/support/checked_math.h"
#include "runtime/support/error.h"

#include <fmt/ranges.h>

#include <limits>

namespace greta::gguf_layout {

std::optional<GgufValueType> valueTypeFromId(uint32_t id) {
  if (id > static_cast<uint32_t>(GgufValueType::Float64))
    return std::nullopt;
  return static_cast<GgufValueType>(id);
}

uint64_t scalarBytes(GgufValueType type) {
  switch (type) {
  case GgufValueType::UInt8:
  case GgufValueType::Int8:
  case GgufValueType::Bool:
    return 1;
  case GgufValueType::UInt16:
  case GgufValueType::Int16:
    return 2;
  case GgufValueType::UInt32:
  case GgufValueType::Int32:
  case GgufValueType::Float32:
    return 4;
  case GgufValueType::UInt64:
  case GgufValueType::Int64:
  case GgufValueType::Float64:
    return 8;
  case GgufValueType::String:
  case GgufValueType::Array:
    return 0;
  }
  return 0;
}

uint64_t minEncodedBytes(GgufValueType type) {
  switch (type) {
  case GgufValueType::String:
    return 8; // uint64 length, possibly no characters
  case GgufValueType::Array:
    return 4 + 8; // element type + count, possibly no elements
  default:
    return scalarBytes(type);
  }
}

bool isValidAlignment(uint64_t alignment) {
  return alignment != 0 && (alignment & (alignment - 1)) == 0;
}

uint64_t tensorBytes(TensorType type, std::span<const uint64_t> dims, std::string_view what) {
  if (dims.empty() || dims.size() > kMaxDims)
    fail("{}: {} dimensions (must be 1 to {})", what, dims.size(), kMaxDims);
  // ggml indexes elements with int64_t, so the element count must fit there, not just in uint64.
  constexpr uint64_t kMaxElements = std::numeric_limits<int64_t>::max();
  uint64_t elements = 1;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] == 0)
      fail("{}: dimension {} is 0 (every dimension must be at least 1)", what, i);
    if (__builtin_mul_overflow(elements, dims[i], &elements) || elements > kMaxElements)
      fail("{}: element count of shape {} overflows (limit {})", what,
           fmt::join(dims.begin(), dims.end(), " x "), kMaxElements);
  }
  uint64_t row = rowBytes(type, dims[0], what);
  return checkedMul(row, elements / dims[0], what);
}

} // namespace greta::gguf_layout
