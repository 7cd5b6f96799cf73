#include "runtime/formats/gguf_metadata_reader.h"

#include "runtime/formats/gguf_layout.h"

namespace greta {

GgufValue GgufMetadataReader::readEntryValue(std::string_view entry) {
  entry_ = entry;
  path_.clear();
  return readValue(readValueType("value type"), /*depth=*/0);
}

std::string GgufMetadataReader::field() const {
  std::string text(entry_);
  for (uint64_t index : path_)
    text += fmt::format("[{}]", index);
  return text;
}

GgufValueType GgufMetadataReader::readValueType(std::string_view what) {
  auto where = [&] { return fmt::format("{} {}", field(), what); };
  auto id = cursor_.read<uint32_t>(where);
  auto type = gguf_layout::valueTypeFromId(id);
  if (!type)
    cursor_.fail(where, "unknown value type id {} (known ids: 0 to {})", id,
                 static_cast<uint32_t>(GgufValueType::Float64));
  return *type;
}

GgufValue GgufMetadataReader::readValue(GgufValueType type, uint32_t depth) {
  auto where = [this] { return field(); };
  switch (type) {
  case GgufValueType::UInt8:
    return GgufValue::makeUInt(type, cursor_.read<uint8_t>(where));
  case GgufValueType::UInt16:
    return GgufValue::makeUInt(type, cursor_.read<uint16_t>(where));
  case GgufValueType::UInt32:
    return GgufValue::makeUInt(type, cursor_.read<uint32_t>(where));
  case GgufValueType::UInt64:
    return GgufValue::makeUInt(type, cursor_.read<uint64_t>(where));
  case GgufValueType::Int8:
    return GgufValue::makeInt(type, cursor_.read<int8_t>(where));
  case GgufValueType::Int16:
    return GgufValue::makeInt(type, cursor_.read<int16_t>(where));
  case GgufValueType::Int32:
    return GgufValue::makeInt(type, cursor_.read<int32_t>(where));
  case GgufValueType::Int64:
    return GgufValue::makeInt(type, cursor_.read<int64_t>(where));
  case GgufValueType::Float32:
    return GgufValue::makeFloat(type, cursor_.read<float>(where));
  case GgufValueType::Float64:
    return GgufValue::makeFloat(type, cursor_.read<double>(where));
  case GgufValueType::Bool: {
    auto byte = cursor_.read<uint8_t>(where);
    if (byte > 1)
      cursor_.fail(where, "bool value {} is not 0 or 1", byte);
    return GgufValue::makeBool(byte == 1);
  }
  case GgufValueType::String:
    return GgufValue::makeString(std::string(cursor_.readString(where, limits_.maxStringBytes)));
  case GgufValueType::Array:
    return readArray(depth + 1);
  }
  cursor_.fail(where, "unknown value type id {}", static_cast<uint32_t>(type));
}

GgufValue GgufMetadataReader::readArray(uint32_t depth) {
  if (depth > limits_.maxArrayDepth)
    cursor_.fail(field(), "arrays nested too deep ({} vs limit {} levels)", depth,
                 limits_.maxArrayDepth);
  GgufArray array;
  array.elementType = readValueType("array element type");
  auto lengthField = [&] { return field() + " array length"; };
  auto length = cursor_.read<uint64_t>(lengthField);
  if (length > limits_.maxArrayElements)
    cursor_.fail(lengthField, "array length too large ({} vs limit {} elements)", length,
                 limits_.maxArrayElements);
  // Every element takes at least this many bytes, so a longer array cannot be in the file.
  uint64_t minBytes = gguf_layout::minEncodedBytes(array.elementType);
  uint64_t fits = cursor_.remaining() / minBytes;
  if (length > fits)
    cursor_.fail(lengthField,
                 "array of {} {} elements cannot fit in the {} bytes left ({} vs limit {} "
                 "elements of at least {} bytes)",
                 length, nameOf(array.elementType), cursor_.remaining(), length, fits, minBytes);
  // totalElements_ never exceeds the limit, so the subtraction cannot wrap.
  if (length > limits_.maxTotalArrayElements - totalElements_)
    cursor_.fail(lengthField,
                 "metadata arrays too large in total ({} elements before this array of {} vs "
                 "limit {} elements in all arrays)",
                 totalElements_, length, limits_.maxTotalArrayElements);
  totalElements_ += length;
  array.elements.reserve(length);
  path_.push_back(0);
  for (uint64_t i = 0; i < length; ++i) {
    path_.back() = i;
    array.elements.push_back(readValue(array.elementType, depth));
  }
  path_.pop_back();
  return GgufValue::makeArray(std::move(array));
}

} // namespace greta
