//===- gguf_sample.h - A GGUF file that exercises every feature ------------===//
//
// Every metadata value type (each integer width at its extremes, floats, bools, strings with
// UTF-8 and control characters, arrays of scalars and strings, nested arrays, an empty array),
// alignment 64, and F32/F16/Q8_0/Q4_K tensors whose bytes follow a known pattern. Used by the
// writer round-trip test and by gguf_write_sample, whose output test/python/gguf_interop.py reads
// with the independent gguf package; that script spells out the same values, so change both.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/formats/gguf.h"

#include <cstdint>
#include <limits>
#include <vector>

namespace greta::test {

struct SampleTensor {
  const char *name;
  TensorType type;
  std::vector<uint64_t> dims;
};

inline const std::vector<SampleTensor> &sampleTensors() {
  static const std::vector<SampleTensor> tensors = {
      {"f32.weight", TensorType::F32, {8, 3}},
      {"f16.weight", TensorType::F16, {16, 2}},
      {"q8_0.weight", TensorType::Q8_0, {64, 2}},
      {"blk.0.q4_k.weight", TensorType::Q4_K, {256, 3}},
  };
  return tensors;
}

/// Byte `i` of sample tensor `t`: a pattern that differs per tensor and per position.
inline uint8_t sampleTensorByte(size_t t, size_t i) {
  return static_cast<uint8_t>((i * 7 + t * 13 + 1) & 0xff);
}

inline std::vector<uint8_t> sampleTensorBytes(size_t t, uint64_t count) {
  std::vector<uint8_t> bytes(count);
  for (size_t i = 0; i < count; ++i)
    bytes[i] = sampleTensorByte(t, i);
  return bytes;
}

/// The sample metadata, in file order (general.alignment is added by setAlignment).
inline std::vector<std::pair<std::string, GgufValue>> sampleMetadata() {
  using V = GgufValue;
  using T = GgufValueType;
  auto ints = [](T type, std::vector<int64_t> values) {
    GgufArray array{type, {}};
    for (int64_t v : values)
      array.elements.push_back(V::makeInt(type, v));
    return V::makeArray(std::move(array));
  };
  return {
      {"general.architecture", V::str("llama")},
      {"test.uint8", V::makeUInt(T::UInt8, 255)},
      {"test.int8", V::makeInt(T::Int8, -128)},
      {"test.uint16", V::makeUInt(T::UInt16, 65535)},
      {"test.int16", V::makeInt(T::Int16, -32768)},
      {"test.uint32", V::u32(4294967295u)},
      {"test.int32", V::i32(std::numeric_limits<int32_t>::min())},
      {"test.uint64", V::makeUInt(T::UInt64, std::numeric_limits<uint64_t>::max())},
      {"test.int64", V::makeInt(T::Int64, std::numeric_limits<int64_t>::min())},
      {"test.float32", V::f32(0.1f)},
      {"test.float64", V::makeFloat(T::Float64, 3.141592653589793)},
      {"test.bool_true", V::makeBool(true)},
      {"test.bool_false", V::makeBool(false)},
      {"test.string", V::str("h\xc3\xa9llo\n\"w\xc3\xb6rld\" \xf0\x9f\xa6\x99")},
      {"test.empty_string", V::str("")},
      {"test.strings", V::strings({"a", "", "\xc3\xbc", "Ġ Ġ"})},
      {"test.float32s", V::f32s({1.5f, -2.25f, 1e-5f})},
      {"test.int32s", V::i32s({1, -2, 2147483647})},
      {"test.uint8s", ints(T::UInt8, {0, 1, 255})},
      {"test.int64s", ints(T::Int64, {-1, 0, 1099511627776})},
      {"test.bools", V::makeArray({T::Bool, {V::makeBool(true), V::makeBool(false)}})},
      {"test.empty_array", V::makeArray({T::Int32, {}})},
      {"test.nested",
       V::makeArray({T::Array, {V::i32s({1, 2}), V::i32s({3}), V::i32s({})}})},
      {"test.nested_strings",
       V::makeArray({T::Array, {V::strings({"x", "y"}), V::strings({"z"})}})},
      {"test.deep",
       V::makeArray({T::Array, {V::makeArray({T::Array, {V::f32s({0.5f})}})}})},
  };
}

inline constexpr uint32_t kSampleAlignment = 64;

inline GgufWriter sampleWriter() {
  GgufWriter writer;
  for (auto &[key, value] : sampleMetadata())
    writer.add(key, value);
  writer.setAlignment(kSampleAlignment);
  const auto &tensors = sampleTensors();
  for (size_t t = 0; t < tensors.size(); ++t)
    writer.addTensor(tensors[t].name, tensors[t].type, tensors[t].dims,
                     [t](std::span<uint8_t> dst) {
                       for (size_t i = 0; i < dst.size(); ++i)
                         dst[i] = sampleTensorByte(t, i);
                     });
  return writer;
}

} // namespace greta::test
