#include "runtime/formats/gguf.h"

#include "runtime/formats/gguf_layout.h"
#include "runtime/support/atomic_output_file.h"
#include "runtime/support/checked_math.h"
#include "runtime/support/error.h"
#include "runtime/support/interrupt.h"

#include <fmt/ranges.h>

#include <algorithm>
#include <cstring>

namespace greta {
namespace {

namespace layout = gguf_layout;

/// Appends little-endian GGUF encodings to a byte vector.
class Encoder {
public:
  explicit Encoder(std::vector<uint8_t> &out) : out_(out) {}

  template <typename T> void scalar(T value) {
    static_assert(std::is_arithmetic_v<T>);
    const auto *bytes = reinterpret_cast<const uint8_t *>(&value);
    out_.insert(out_.end(), bytes, bytes + sizeof(T));
  }

  void string(std::string_view text) {
    scalar<uint64_t>(text.size());
    out_.insert(out_.end(), text.begin(), text.end());
  }

  /// The value's payload, without its type id (array elements carry none).
  void value(const GgufValue &v) {
    switch (v.type()) {
    case GgufValueType::UInt8: return scalar(static_cast<uint8_t>(*v.asUInt()));
    case GgufValueType::UInt16: return scalar(static_cast<uint16_t>(*v.asUInt()));
    case GgufValueType::UInt32: return scalar(static_cast<uint32_t>(*v.asUInt()));
    case GgufValueType::UInt64: return scalar(*v.asUInt());
    case GgufValueType::Int8: return scalar(static_cast<int8_t>(*v.asInt()));
    case GgufValueType::Int16: return scalar(static_cast<int16_t>(*v.asInt()));
    case GgufValueType::Int32: return scalar(static_cast<int32_t>(*v.asInt()));
    case GgufValueType::Int64: return scalar(*v.asInt());
    case GgufValueType::Float32: return scalar(static_cast<float>(*v.asDouble()));
    case GgufValueType::Float64: return scalar(*v.asDouble());
    case GgufValueType::Bool: return scalar<uint8_t>(*v.asBool() ? 1 : 0);
    case GgufValueType::String: return string(*v.string());
    case GgufValueType::Array: {
      const GgufArray &array = *v.array();
      scalar(static_cast<uint32_t>(array.elementType));
      scalar<uint64_t>(array.elements.size());
      for (const GgufValue &element : array.elements)
        value(element);
      return;
    }
    }
  }

private:
  std::vector<uint8_t> &out_;
};

/// Checks what a GgufFile with default limits would check, so everything written reads back:
/// homogeneous arrays, nesting depth, string and array sizes.
void validateValue(const GgufValue &value, const std::string &field, uint32_t depth) {
  const GgufLimits limits;
  if (const std::string *text = value.string(); text && text->size() > limits.maxStringBytes)
    fail("GgufWriter: {}: string too long ({} vs limit {} bytes)", field, text->size(),
         limits.maxStringBytes);
  const GgufArray *array = value.array();
  if (!array)
    return;
  if (depth + 1 > limits.maxArrayDepth)
    fail("GgufWriter: {}: arrays nested too deep ({} vs limit {} levels)", field, depth + 1,
         limits.maxArrayDepth);
  if (array->elements.size() > limits.maxArrayElements)
    fail("GgufWriter: {}: array too long ({} vs limit {} elements)", field,
         array->elements.size(), limits.maxArrayElements);
  for (size_t i = 0; i < array->elements.size(); ++i) {
    const GgufValue &element = array->elements[i];
    if (element.type() != array->elementType)
      fail("GgufWriter: {}[{}]: element type {} differs from the array's element type {}", field,
           i, nameOf(element.type()), nameOf(array->elementType));
    if (element.type() == GgufValueType::String || element.type() == GgufValueType::Array)
      validateValue(element, fmt::format("{}[{}]", field, i), depth + 1);
  }
}

/// Elements of `value`'s arrays, nested ones included (0 for a scalar or string).
uint64_t arrayElements(const GgufValue &value) {
  const GgufArray *array = value.array();
  if (!array)
    return 0;
  uint64_t count = array->elements.size();
  if (array->elementType == GgufValueType::Array)
    for (const GgufValue &element : array->elements)
      count += arrayElements(element);
  return count;
}

void validateAlignment(uint64_t alignment, std::string_view field) {
  if (!layout::isValidAlignment(alignment) || alignment > UINT32_MAX)
    fail("GgufWriter: {}: alignment {} is not a nonzero power of two that fits uint32", field,
         alignment);
}

/// Where everything goes: the encoded header, metadata and tensor table, then the data offsets.
struct Layout {
  std::vector<uint8_t> preamble;
  uint64_t dataOffset = 0;
  std::vector<uint64_t> offsets; ///< per tensor, from the start of the data section
  uint64_t fileBytes = 0;
};

} // namespace

void GgufWriter::setAlignment(uint32_t alignment) {
  validateAlignment(alignment, "setAlignment");
  alignment_ = alignment;
  auto it = std::find_if(metadata_.begin(), metadata_.end(),
                         [](const auto &kv) { return kv.first == layout::kAlignmentKey; });
  if (it != metadata_.end())
    it->second = GgufValue::u32(alignment);
  else
    metadata_.emplace_back(std::string(layout::kAlignmentKey), GgufValue::u32(alignment));
}

void GgufWriter::add(std::string key, GgufValue value) {
  if (key.empty())
    fail("GgufWriter: metadata key is empty");
  std::string field = fmt::format("metadata '{}'", key);
  for (const auto &existing : metadata_)
    if (existing.first == key)
      fail("GgufWriter: {}: key added twice", field);
  validateValue(value, field, /*depth=*/0);
  const uint64_t elements = arrayElements(value);
  if (const uint64_t limit = GgufLimits().maxTotalArrayElements;
      elements > limit - arrayElements_)
    fail("GgufWriter: {}: metadata arrays too large in total ({} elements before these {} vs "
         "limit {} elements in all arrays)",
         field, arrayElements_, elements, limit);
  arrayElements_ += elements;
  if (key == layout::kAlignmentKey) {
    if (value.type() != GgufValueType::UInt32)
      fail("GgufWriter: {}: type is {}, expected uint32", field, nameOf(value.type()));
    validateAlignment(*value.asUInt(), field);
    alignment_ = static_cast<uint32_t>(*value.asUInt());
  }
  metadata_.emplace_back(std::move(key), std::move(value));
}

void GgufWriter::addTensor(std::string name, TensorType type, std::vector<uint64_t> dims,
                           GgufTensorFiller fill) {
  const GgufLimits limits;
  std::string field = fmt::format("GgufWriter: tensor '{}'", name);
  if (name.empty() || name.size() > limits.maxTensorNameBytes)
    fail("{}: name length {} is not 1 to {} bytes", field, name.size(), limits.maxTensorNameBytes);
  for (const auto &existing : tensors_)
    if (existing.name == name)
      fail("{}: tensor added twice", field);
  if (!fill)
    fail("{}: no filler given", field);
  uint64_t bytes = layout::tensorBytes(type, dims, field);
  tensors_.push_back({std::move(name), type, std::move(dims), bytes, std::move(fill)});
}

void GgufWriter::addTensor(std::string name, TensorType type, std::vector<uint64_t> dims,
                           std::vector<uint8_t> bytes) {
  std::string field = fmt::format("GgufWriter: tensor '{}'", name);
  uint64_t expected = layout::tensorBytes(type, dims, field);
  if (bytes.size() != expected)
    fail("{}: {} bytes given, {} [{}] needs {}", field, bytes.size(), nameOf(type),
         fmt::join(dims, ", "), expected);
  auto shared = std::make_shared<const std::vector<uint8_t>>(std::move(bytes));
  addTensor(std::move(name), type, std::move(dims), [shared](std::span<uint8_t> dst) {
    std::memcpy(dst.data(), shared->data(), dst.size());
  });
}

namespace {

Layout planLayout(uint32_t alignment,
                  const std::vector<std::pair<std::string, GgufValue>> &metadata,
                  const auto &tensors) {
  Layout plan;
  Encoder out(plan.preamble);
  out.scalar(layout::kMagic);
  out.scalar(layout::kWriteVersion);
  out.scalar<uint64_t>(tensors.size());
  out.scalar<uint64_t>(metadata.size());
  for (const auto &[key, value] : metadata) {
    out.string(key);
    out.scalar(static_cast<uint32_t>(value.type()));
    out.value(value);
  }
  uint64_t dataBytes = 0;
  for (const auto &tensor : tensors) {
    out.string(tensor.name);
    out.scalar<uint32_t>(tensor.dims.size());
    for (uint64_t dim : tensor.dims)
      out.scalar(dim);
    out.scalar(static_cast<uint32_t>(tensor.type));
    out.scalar(dataBytes);
    plan.offsets.push_back(dataBytes);
    // Every tensor, the last included, is padded to the alignment as llama.cpp and gguf-py do.
    dataBytes = alignUp(checkedAdd(dataBytes, tensor.bytes, "GgufWriter: data size"), alignment,
                        "GgufWriter: data size");
  }
  plan.dataOffset = alignUp(plan.preamble.size(), alignment, "GgufWriter: data offset");
  plan.fileBytes = checkedAdd(plan.dataOffset, dataBytes, "GgufWriter: file size");
  return plan;
}

} // namespace

std::vector<uint8_t> GgufWriter::toBytes() const {
  Layout plan = planLayout(alignment_, metadata_, tensors_);
  std::vector<uint8_t> out = std::move(plan.preamble);
  out.resize(plan.fileBytes, 0);
  for (size_t i = 0; i < tensors_.size(); ++i)
    tensors_[i].fill(std::span<uint8_t>(out.data() + plan.dataOffset + plan.offsets[i],
                                        tensors_[i].bytes));
  return out;
}

void GgufWriter::write(const std::string &path,
                       const std::function<void(uint64_t, uint64_t)> &progress) const {
  Layout plan = planLayout(alignment_, metadata_, tensors_);
  AtomicOutputFile file(path);
  file.write(plan.preamble);
  file.writeZeros(plan.dataOffset - plan.preamble.size());
  if (progress)
    progress(file.bytesWritten(), plan.fileBytes);
  // One buffer, grown to the largest tensor: each tensor is produced whole and written with one
  // large write, never the whole model at once.
  std::vector<uint8_t> buffer;
  for (size_t i = 0; i < tensors_.size(); ++i) {
    throwIfInterrupted(path); // Ctrl-C: the temporary goes with `file`, `path` is untouched
    const PendingTensor &tensor = tensors_[i];
    buffer.resize(tensor.bytes);
    tensor.fill(buffer);
    file.write(buffer);
    uint64_t end = i + 1 < tensors_.size() ? plan.dataOffset + plan.offsets[i + 1] : plan.fileBytes;
    file.writeZeros(end - file.bytesWritten());
    if (progress)
      progress(file.bytesWritten(), plan.fileBytes);
  }
  throwIfInterrupted(path);
  file.commit();
}

} // namespace greta
