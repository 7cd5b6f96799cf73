//===- gguf.h - GGUF v2/v3 files: metadata values, reader, writer ----------===//
//
// GGUF is llama.cpp's model container: a header, key/value metadata, a tensor table, then aligned
// tensor data. GgufFile maps a file and validates all of it before anything is used; every
// violation is a greta::Error naming the file, the field and the limit. GgufWriter writes files
// atomically (temporary name + rename) that other GGUF readers load.
//
// Thread-safety: a GgufFile is immutable after open() and may be read from any thread. A
// GgufWriter is not thread-safe; write() calls the fillers on the calling thread.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/formats/tensor_type.h"
#include "runtime/support/mapped_file.h"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace greta {

/// GGUF metadata value type ids (gguf.h `enum gguf_type`).
enum class GgufValueType : uint32_t {
  UInt8 = 0,
  Int8 = 1,
  UInt16 = 2,
  Int16 = 3,
  UInt32 = 4,
  Int32 = 5,
  Float32 = 6,
  Bool = 7,
  String = 8,
  Array = 9,
  UInt64 = 10,
  Int64 = 11,
  Float64 = 12,
};

std::string_view nameOf(GgufValueType type);

class GgufValue;

/// An array value: its element type and elements (arrays may nest).
struct GgufArray {
  GgufValueType elementType = GgufValueType::UInt8;
  std::vector<GgufValue> elements;

  /// Same element type and equal elements (nested arrays compared recursively).
  friend bool operator==(const GgufArray &a, const GgufArray &b);
};

/// One metadata value. Integers keep their declared width in `type`; the payload is held widened.
/// The factories throw greta::Error when the value does not fit the declared type (makeUInt of
/// 300 as UInt8) or the type is of the wrong kind (makeFloat with UInt32); Float32 values are
/// rounded to float on construction, so they compare equal after a round trip through a file.
class GgufValue {
public:
  GgufValue() = default;
  static GgufValue makeUInt(GgufValueType type, uint64_t v);
  static GgufValue makeInt(GgufValueType type, int64_t v);
  static GgufValue makeFloat(GgufValueType type, double v);
  static GgufValue makeBool(bool v);
  static GgufValue makeString(std::string v);
  static GgufValue makeArray(GgufArray v);
  // Shorthands for the common cases.
  static GgufValue u32(uint32_t v) { return makeUInt(GgufValueType::UInt32, v); }
  static GgufValue i32(int32_t v) { return makeInt(GgufValueType::Int32, v); }
  static GgufValue f32(float v) { return makeFloat(GgufValueType::Float32, v); }
  static GgufValue str(std::string v) { return makeString(std::move(v)); }
  static GgufValue strings(const std::vector<std::string> &v);
  static GgufValue f32s(const std::vector<float> &v);
  static GgufValue i32s(const std::vector<int32_t> &v);

  GgufValueType type() const { return type_; }
  bool isInteger() const;
  bool isFloat() const { return type_ == GgufValueType::Float32 || type_ == GgufValueType::Float64; }
  const GgufArray *array() const { return std::get_if<GgufArray>(&payload_); }
  const std::string *string() const { return std::get_if<std::string>(&payload_); }
  std::optional<uint64_t> asUInt() const;  ///< any integer type holding a value >= 0, or bool
  std::optional<int64_t> asInt() const;    ///< any integer type that fits int64
  std::optional<double> asDouble() const;  ///< float or integer types
  std::optional<bool> asBool() const;

  /// Same declared type and equal payload; floats compare by value (NaN != NaN).
  friend bool operator==(const GgufValue &a, const GgufValue &b);

private:
  GgufValueType type_ = GgufValueType::UInt8;
  std::variant<uint64_t, int64_t, double, bool, std::string, GgufArray> payload_;
};

/// One entry of the tensor table, validated.
struct GgufTensorInfo {
  std::string name;
  TensorType type = TensorType::F32;
  std::vector<uint64_t> dims;  ///< ggml order: dims[0] is the contiguous (row) dimension
  uint64_t offset = 0;         ///< from the start of the data section
  uint64_t bytes = 0;          ///< derived from type and dims
  std::span<const uint8_t> data; ///< points into the mapping

  uint64_t elements() const;
  uint64_t rows() const { return dims.empty() || dims[0] == 0 ? 0 : elements() / dims[0]; }
};

/// Limits applied while reading, each reported by name when exceeded.
struct GgufLimits {
  uint64_t maxStringBytes = 1ull << 24;   ///< one metadata string (the chat template is ~10 KB)
  uint64_t maxArrayElements = 1ull << 24; ///< one metadata array (Llama-3 has 280k merges)
  /// All metadata arrays together, nested ones included. Each element is held as a 48-byte
  /// GgufValue, up to 48 times its size in the file, so this caps the metadata at about 1.6 GB
  /// however large the file (Llama-3 has 0.7M elements in all).
  uint64_t maxTotalArrayElements = 1ull << 25;
  uint32_t maxArrayDepth = 8;             ///< nesting of arrays in arrays
  uint64_t maxTensorNameBytes = 256;
};

class GgufFile {
public:
  /// Maps and validates `path`. Throws greta::Error on any violation.
  static GgufFile open(const std::string &path, const GgufLimits &limits = {});
  /// Validates an in-memory image (for fuzzing and tests); `label` names it in errors. The
  /// caller keeps `bytes` alive as long as the GgufFile.
  static GgufFile parse(std::span<const uint8_t> bytes, std::string label,
                        const GgufLimits &limits = {});

  const std::string &path() const { return label_; }
  uint32_t version() const { return version_; }
  uint32_t alignment() const { return alignment_; }
  /// Start of the data section: the end of the tensor table rounded up to the alignment. A file
  /// without tensors may end before it (llama.cpp's vocab-only files omit the padding).
  uint64_t dataOffset() const { return dataOffset_; }
  uint64_t fileSize() const { return bytes_.size(); }
  std::span<const uint8_t> bytes() const { return bytes_; }

  /// Metadata in file order.
  const std::vector<std::pair<std::string, GgufValue>> &metadata() const { return metadata_; }
  const GgufValue *find(std::string_view key) const;
  /// Typed look-ups: nullopt when absent; Error (naming file, key, found type) on a wrong type.
  std::optional<std::string> getString(std::string_view key) const;
  std::optional<uint64_t> getUInt(std::string_view key) const;
  std::optional<double> getFloat(std::string_view key) const;
  std::optional<bool> getBool(std::string_view key) const;
  /// Like the above, but absence is an Error naming file and key.
  std::string requireString(std::string_view key) const;
  uint64_t requireUInt(std::string_view key) const;
  double requireFloat(std::string_view key) const;

  const std::vector<GgufTensorInfo> &tensors() const { return tensors_; }
  const GgufTensorInfo *findTensor(std::string_view name) const;
  const GgufTensorInfo &requireTensor(std::string_view name) const;

private:
  GgufFile() = default;
  std::shared_ptr<MappedFile> mapping_; // null for parse()
  std::span<const uint8_t> bytes_;
  std::string label_;
  uint32_t version_ = 0;
  uint32_t alignment_ = 32;
  uint64_t dataOffset_ = 0;
  std::vector<std::pair<std::string, GgufValue>> metadata_;
  std::vector<GgufTensorInfo> tensors_;
  std::map<std::string, size_t, std::less<>> tensorIndex_;
  std::map<std::string, size_t, std::less<>> metadataIndex_;
};

/// Fills the destination with a tensor's bytes at write time, so huge tensors are produced
/// streaming rather than held in memory all at once. dst.size() is the tensor's byte size.
using GgufTensorFiller = std::function<void(std::span<uint8_t> dst)>;

/// Writes GGUF v3 files (little-endian). Keys and tensor names must be unique; tensor data is
/// written in declaration order, each tensor aligned to `general.alignment` (default 32).
class GgufWriter {
public:
  /// Nonzero power of two; also written as general.alignment (replacing an earlier value).
  void setAlignment(uint32_t alignment);
  /// Adds a metadata entry. Throws greta::Error naming the key for an empty or repeated key, an
  /// array whose elements differ from its element type, or anything a GgufFile with default
  /// GgufLimits would refuse (string/array sizes, array elements in total, nesting). Adding
  /// general.alignment is the same as setAlignment() and must be a uint32.
  void add(std::string key, GgufValue value);
  /// Declares a tensor; `fill` is called once per write()/toBytes() with exactly the tensor's
  /// bytes. Throws greta::Error naming the tensor for a repeated or empty (or > 256-byte) name,
  /// a missing filler, or a shape the reader would refuse: 1..4 dims, none 0, element count
  /// within int64, dims[0] a whole number of the type's blocks.
  void addTensor(std::string name, TensorType type, std::vector<uint64_t> dims,
                 GgufTensorFiller fill);
  /// As above with the bytes given up front; their count must match the shape.
  void addTensor(std::string name, TensorType type, std::vector<uint64_t> dims,
                 std::vector<uint8_t> bytes);
  /// Writes to `path` + a temporary suffix, then renames; on any failure the temporary file is
  /// removed and nothing appears at `path`. Each tensor is filled into one buffer of its own size
  /// and written with one large write. `progress`, if set, gets (file bytes written, file size)
  /// after the header and after each tensor.
  void write(const std::string &path,
             const std::function<void(uint64_t, uint64_t)> &progress = {}) const;
  /// Serialises the whole file into memory (tests, fuzz seeds).
  std::vector<uint8_t> toBytes() const;

private:
  struct PendingTensor {
    std::string name;
    TensorType type;
    std::vector<uint64_t> dims;
    uint64_t bytes;
    GgufTensorFiller fill;
  };
  uint32_t alignment_ = 32;
  uint64_t arrayElements_ = 0; ///< in all metadata arrays, against maxTotalArrayElements
  std::vector<std::pair<std::string, GgufValue>> metadata_;
  std::vector<PendingTensor> tensors_;
};

} // namespace greta
