#include "runtime/formats/gguf.h"

#include "runtime/support/error.h"

#include <limits>

namespace greta {
namespace {

/// The values an integer type can hold; nullopt for non-integer types.
struct IntegerRange {
  bool isSigned;
  int64_t min;
  uint64_t max;
};

std::optional<IntegerRange> integerRange(GgufValueType type) {
  switch (type) {
  case GgufValueType::UInt8:
    return IntegerRange{false, 0, std::numeric_limits<uint8_t>::max()};
  case GgufValueType::UInt16:
    return IntegerRange{false, 0, std::numeric_limits<uint16_t>::max()};
  case GgufValueType::UInt32:
    return IntegerRange{false, 0, std::numeric_limits<uint32_t>::max()};
  case GgufValueType::UInt64:
    return IntegerRange{false, 0, std::numeric_limits<uint64_t>::max()};
  case GgufValueType::Int8:
    return IntegerRange{true, std::numeric_limits<int8_t>::min(), std::numeric_limits<int8_t>::max()};
  case GgufValueType::Int16:
    return IntegerRange{true, std::numeric_limits<int16_t>::min(),
                        std::numeric_limits<int16_t>::max()};
  case GgufValueType::Int32:
    return IntegerRange{true, std::numeric_limits<int32_t>::min(),
                        std::numeric_limits<int32_t>::max()};
  case GgufValueType::Int64:
    return IntegerRange{true, std::numeric_limits<int64_t>::min(),
                        static_cast<uint64_t>(std::numeric_limits<int64_t>::max())};
  default:
    return std::nullopt;
  }
}

IntegerRange requireIntegerType(GgufValueType type, std::string_view factory) {
  auto range = integerRange(type);
  if (!range)
    fail("GgufValue::{}: type {} is not an integer type", factory, nameOf(type));
  return *range;
}

/// An array of `elementType` holding make(x) for each x of `values`.
template <typename T, typename Make>
GgufValue arrayOf(GgufValueType elementType, const std::vector<T> &values, Make make) {
  GgufArray array{elementType, {}};
  array.elements.reserve(values.size());
  for (const T &value : values)
    array.elements.push_back(make(value));
  return GgufValue::makeArray(std::move(array));
}

} // namespace

std::string_view nameOf(GgufValueType type) {
  switch (type) {
  case GgufValueType::UInt8: return "uint8";
  case GgufValueType::Int8: return "int8";
  case GgufValueType::UInt16: return "uint16";
  case GgufValueType::Int16: return "int16";
  case GgufValueType::UInt32: return "uint32";
  case GgufValueType::Int32: return "int32";
  case GgufValueType::Float32: return "float32";
  case GgufValueType::Bool: return "bool";
  case GgufValueType::String: return "string";
  case GgufValueType::Array: return "array";
  case GgufValueType::UInt64: return "uint64";
  case GgufValueType::Int64: return "int64";
  case GgufValueType::Float64: return "float64";
  }
  return "unknown";
}

GgufValue GgufValue::makeUInt(GgufValueType type, uint64_t v) {
  IntegerRange range = requireIntegerType(type, "makeUInt");
  if (v > range.max)
    fail("GgufValue::makeUInt: {} does not fit {} ({} vs limit {})", v, nameOf(type), v, range.max);
  GgufValue value;
  value.type_ = type;
  if (range.isSigned)
    value.payload_ = static_cast<int64_t>(v);
  else
    value.payload_ = v;
  return value;
}

GgufValue GgufValue::makeInt(GgufValueType type, int64_t v) {
  IntegerRange range = requireIntegerType(type, "makeInt");
  if (v < range.min || (v > 0 && static_cast<uint64_t>(v) > range.max))
    fail("GgufValue::makeInt: {} does not fit {} (range {} to {})", v, nameOf(type), range.min,
         range.max);
  GgufValue value;
  value.type_ = type;
  if (range.isSigned)
    value.payload_ = v;
  else
    value.payload_ = static_cast<uint64_t>(v);
  return value;
}

GgufValue GgufValue::makeFloat(GgufValueType type, double v) {
  GgufValue value;
  value.type_ = type;
  if (type == GgufValueType::Float32)
    value.payload_ = static_cast<double>(static_cast<float>(v));
  else if (type == GgufValueType::Float64)
    value.payload_ = v;
  else
    fail("GgufValue::makeFloat: type {} is not a float type", nameOf(type));
  return value;
}

GgufValue GgufValue::makeBool(bool v) {
  GgufValue value;
  value.type_ = GgufValueType::Bool;
  value.payload_ = v;
  return value;
}

GgufValue GgufValue::makeString(std::string v) {
  GgufValue value;
  value.type_ = GgufValueType::String;
  value.payload_ = std::move(v);
  return value;
}

GgufValue GgufValue::makeArray(GgufArray v) {
  GgufValue value;
  value.type_ = GgufValueType::Array;
  value.payload_ = std::move(v);
  return value;
}

GgufValue GgufValue::strings(const std::vector<std::string> &v) {
  return arrayOf(GgufValueType::String, v, &GgufValue::str);
}

GgufValue GgufValue::f32s(const std::vector<float> &v) {
  return arrayOf(GgufValueType::Float32, v, &GgufValue::f32);
}

GgufValue GgufValue::i32s(const std::vector<int32_t> &v) {
  return arrayOf(GgufValueType::Int32, v, &GgufValue::i32);
}

bool GgufValue::isInteger() const { return integerRange(type_).has_value(); }

std::optional<uint64_t> GgufValue::asUInt() const {
  if (const auto *u = std::get_if<uint64_t>(&payload_))
    return *u;
  if (const auto *i = std::get_if<int64_t>(&payload_); i && *i >= 0)
    return static_cast<uint64_t>(*i);
  if (const auto *b = std::get_if<bool>(&payload_))
    return *b ? 1 : 0;
  return std::nullopt;
}

std::optional<int64_t> GgufValue::asInt() const {
  if (const auto *i = std::get_if<int64_t>(&payload_))
    return *i;
  if (const auto *u = std::get_if<uint64_t>(&payload_);
      u && *u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    return static_cast<int64_t>(*u);
  return std::nullopt;
}

std::optional<double> GgufValue::asDouble() const {
  if (const auto *d = std::get_if<double>(&payload_))
    return *d;
  if (const auto *u = std::get_if<uint64_t>(&payload_))
    return static_cast<double>(*u);
  if (const auto *i = std::get_if<int64_t>(&payload_))
    return static_cast<double>(*i);
  return std::nullopt;
}

std::optional<bool> GgufValue::asBool() const {
  if (const auto *b = std::get_if<bool>(&payload_))
    return *b;
  return std::nullopt;
}

bool operator==(const GgufArray &a, const GgufArray &b) {
  return a.elementType == b.elementType && a.elements == b.elements;
}

bool operator==(const GgufValue &a, const GgufValue &b) {
  return a.type_ == b.type_ && a.payload_ == b.payload_;
}

} // namespace greta
