#include "runtime/formats/gguf.h"

#include "runtime/formats/gguf_cursor.h"
#include "runtime/formats/gguf_layout.h"
#include "runtime/formats/gguf_metadata_reader.h"
#include "runtime/support/checked_math.h"
#include "runtime/support/error.h"

#include <algorithm>
#include <cstring>
#include <numeric>

namespace greta {
namespace {

namespace layout = gguf_layout;

struct Header {
  uint32_t version;
  uint64_t tensorCount;
  uint64_t metadataCount;
};

/// Fails unless `count` entries of at least `minBytes` each fit in the bytes left, so no count
/// read from the file sizes an allocation before it is known to be plausible.
void checkCountFits(const GgufCursor &cursor, uint64_t count, uint64_t minBytes,
                    std::string_view field) {
  uint64_t limit = cursor.remaining() / minBytes;
  if (count > limit)
    cursor.fail(field,
                "{} entries cannot fit in the {} bytes left ({} vs limit {} entries of at least {} "
                "bytes)",
                count, cursor.remaining(), count, limit, minBytes);
}

Header readHeader(GgufCursor &cursor) {
  cursor.require(layout::kHeaderBytes, "header");
  auto magic = cursor.read<uint32_t>("header magic");
  if (magic != layout::kMagic) {
    std::string text(4, '\0');
    std::memcpy(text.data(), &magic, 4);
    cursor.fail("header magic", "{} is not 'GGUF': not a GGUF file", quotedForError(text));
  }
  Header header{};
  header.version = cursor.read<uint32_t>("header version");
  if (header.version < layout::kMinVersion || header.version > layout::kMaxVersion) {
    // A big-endian file stores the version byte-swapped; the magic is written the same way in
    // both, so the version is where the byte order shows.
    uint32_t swapped = __builtin_bswap32(header.version);
    if (swapped >= 1 && swapped <= layout::kMaxVersion)
      cursor.fail("header version",
                  "{:#010x} is version {} byte-swapped: big-endian GGUF files are not supported "
                  "(supported: little-endian versions {} to {})",
                  header.version, swapped, layout::kMinVersion, layout::kMaxVersion);
    cursor.fail("header version", "version {} is not supported (supported versions: {} to {})",
                header.version, layout::kMinVersion, layout::kMaxVersion);
  }
  header.tensorCount = cursor.read<uint64_t>("header tensor count");
  header.metadataCount = cursor.read<uint64_t>("header metadata count");
  checkCountFits(cursor, header.metadataCount, layout::kMinMetadataEntryBytes,
                 "header metadata count");
  checkCountFits(cursor, header.tensorCount, layout::kMinTensorEntryBytes, "header tensor count");
  return header;
}

/// general.alignment if present: must be a uint32 nonzero power of two.
uint32_t alignmentOf(const GgufCursor &cursor,
                     const std::vector<std::pair<std::string, GgufValue>> &metadata,
                     const std::map<std::string, size_t, std::less<>> &index) {
  auto it = index.find(layout::kAlignmentKey);
  if (it == index.end())
    return layout::kDefaultAlignment;
  const GgufValue &value = metadata[it->second].second;
  auto field = [&] { return fmt::format("metadata {} '{}'", it->second, layout::kAlignmentKey); };
  if (value.type() != GgufValueType::UInt32)
    cursor.fail(field, "type is {}, expected uint32", nameOf(value.type()));
  uint64_t alignment = *value.asUInt();
  if (!layout::isValidAlignment(alignment))
    cursor.fail(field, "alignment {} is not a nonzero power of two", alignment);
  return static_cast<uint32_t>(alignment);
}

std::string tensorField(uint64_t index, std::string_view name) {
  return fmt::format("tensor {} {}", index, quotedForError(name));
}

/// Reads one tensor table entry; checks the name, dims and type and derives the byte size.
GgufTensorInfo readTensorInfo(GgufCursor &cursor, uint64_t index, const GgufLimits &limits) {
  GgufTensorInfo info;
  info.name = cursor.readString([&] { return fmt::format("tensor {} name", index); },
                                limits.maxTensorNameBytes);
  std::string entry = tensorField(index, info.name);
  auto nDims = cursor.read<uint32_t>([&] { return entry + " dimension count"; });
  if (nDims == 0 || nDims > layout::kMaxDims)
    cursor.fail(entry, "{} dimensions (must be 1 to {})", nDims, layout::kMaxDims);
  info.dims.resize(nDims);
  for (uint64_t &dim : info.dims)
    dim = cursor.read<uint64_t>([&] { return entry + " dimensions"; });
  auto typeId = cursor.read<uint32_t>([&] { return entry + " type"; });
  auto traits = tensorTypeTraits(typeId);
  if (!traits)
    cursor.fail(entry, "unknown tensor type id {}", typeId);
  info.type = traits->type;
  info.offset = cursor.read<uint64_t>([&] { return entry + " offset"; });
  info.bytes =
      layout::tensorBytes(info.type, info.dims, fmt::format("{}: {}", cursor.label(), entry));
  return info;
}

/// Places every tensor inside the data section: aligned, in bounds, not overlapping another.
void placeTensors(const GgufCursor &cursor, std::vector<GgufTensorInfo> &tensors,
                  uint64_t dataOffset, uint32_t alignment) {
  if (tensors.empty())
    return; // vocab-only files may end before the padding that would start a data section
  if (dataOffset > cursor.size())
    cursor.fail("data section", "starts at offset {} past end of file ({} bytes)", dataOffset,
                cursor.size());
  std::span<const uint8_t> data(cursor.bytes().subspan(dataOffset));
  for (size_t i = 0; i < tensors.size(); ++i) {
    GgufTensorInfo &info = tensors[i];
    if (info.offset % alignment != 0)
      cursor.fail(tensorField(i, info.name), "offset {} is not a multiple of the alignment {}",
                  info.offset, alignment);
    uint64_t end = checkedAdd(info.offset, info.bytes,
                              fmt::format("{}: {}", cursor.label(), tensorField(i, info.name)));
    if (end > data.size())
      cursor.fail(tensorField(i, info.name),
                  "data [{}, {}) extends past end of file ({} vs limit {} bytes in the data "
                  "section at offset {})",
                  info.offset, end, end, data.size(), dataOffset);
    info.data = data.subspan(info.offset, info.bytes);
  }
  std::vector<size_t> byOffset(tensors.size());
  std::iota(byOffset.begin(), byOffset.end(), size_t{0});
  std::sort(byOffset.begin(), byOffset.end(),
            [&](size_t a, size_t b) { return tensors[a].offset < tensors[b].offset; });
  for (size_t k = 1; k < byOffset.size(); ++k) {
    const GgufTensorInfo &prev = tensors[byOffset[k - 1]];
    const GgufTensorInfo &cur = tensors[byOffset[k]];
    if (prev.offset + prev.bytes > cur.offset)
      cursor.fail(tensorField(byOffset[k], cur.name), "data [{}, {}) overlaps {} data [{}, {})",
                  cur.offset, cur.offset + cur.bytes, tensorField(byOffset[k - 1], prev.name),
                  prev.offset, prev.offset + prev.bytes);
  }
}

} // namespace

uint64_t GgufTensorInfo::elements() const {
  uint64_t count = 1;
  for (uint64_t dim : dims)
    count *= dim; // validated not to overflow when the tensor was read or declared
  return count;
}

GgufFile GgufFile::open(const std::string &path, const GgufLimits &limits) {
  auto mapping = std::make_shared<MappedFile>(path);
  GgufFile file = parse(mapping->bytes(), path, limits);
  file.mapping_ = std::move(mapping);
  return file;
}

GgufFile GgufFile::parse(std::span<const uint8_t> bytes, std::string label,
                         const GgufLimits &limits) {
  GgufFile file;
  file.label_ = std::move(label);
  file.bytes_ = bytes;
  GgufCursor cursor(bytes, file.label_);
  Header header = readHeader(cursor);
  file.version_ = header.version;

  GgufMetadataReader metadataReader(cursor, limits);
  file.metadata_.reserve(header.metadataCount);
  for (uint64_t i = 0; i < header.metadataCount; ++i) {
    std::string key(cursor.readString([&] { return fmt::format("metadata {} key", i); },
                                      limits.maxStringBytes));
    // GgufWriter refuses empty keys, and no lookup could name one: a crafted file, not a model.
    if (key.empty())
      cursor.fail(fmt::format("metadata {} key", i), "key is empty (a metadata key needs a name)");
    std::string entry = fmt::format("metadata {} {}", i, quotedForError(key));
    if (auto it = file.metadataIndex_.find(key); it != file.metadataIndex_.end())
      cursor.fail(entry, "duplicate key (first defined as metadata {})", it->second);
    GgufValue value = metadataReader.readEntryValue(entry);
    file.metadataIndex_.emplace(key, file.metadata_.size());
    file.metadata_.emplace_back(std::move(key), std::move(value));
  }
  file.alignment_ = alignmentOf(cursor, file.metadata_, file.metadataIndex_);

  checkCountFits(cursor, header.tensorCount, layout::kMinTensorEntryBytes, "header tensor count");
  file.tensors_.reserve(header.tensorCount);
  for (uint64_t i = 0; i < header.tensorCount; ++i) {
    GgufTensorInfo info = readTensorInfo(cursor, i, limits);
    if (auto it = file.tensorIndex_.find(info.name); it != file.tensorIndex_.end())
      cursor.fail(tensorField(i, info.name), "duplicate tensor name (first defined as tensor {})", it->second);
    file.tensorIndex_.emplace(info.name, file.tensors_.size());
    file.tensors_.push_back(std::move(info));
  }
  file.dataOffset_ = alignUp(cursor.offset(), file.alignment_, file.label_ + ": data section");
  placeTensors(cursor, file.tensors_, file.dataOffset_, file.alignment_);
  return file;
}

const GgufValue *GgufFile::find(std::string_view key) const {
  auto it = metadataIndex_.find(key);
  return it == metadataIndex_.end() ? nullptr : &metadata_[it->second].second;
}

namespace {

[[noreturn]] void failWrongType(const std::string &label, std::string_view key,
                                std::string_view expected, const GgufValue &value) {
  fail("{}: metadata '{}': expected {}, found {}", label, key, expected, nameOf(value.type()));
}

[[noreturn]] void failMissing(const std::string &label, std::string_view key) {
  fail("{}: metadata '{}': required key is missing", label, key);
}

} // namespace

std::optional<std::string> GgufFile::getString(std::string_view key) const {
  const GgufValue *value = find(key);
  if (!value)
    return std::nullopt;
  if (!value->string())
    failWrongType(label_, key, "string", *value);
  return *value->string();
}

std::optional<uint64_t> GgufFile::getUInt(std::string_view key) const {
  const GgufValue *value = find(key);
  if (!value)
    return std::nullopt;
  if (!value->isInteger())
    failWrongType(label_, key, "an integer", *value);
  auto result = value->asUInt();
  if (!result)
    fail("{}: metadata '{}': value {} is negative, expected an unsigned integer", label_, key,
         *value->asInt());
  return result;
}

std::optional<double> GgufFile::getFloat(std::string_view key) const {
  const GgufValue *value = find(key);
  if (!value)
    return std::nullopt;
  if (!value->isFloat() && !value->isInteger())
    failWrongType(label_, key, "a number", *value);
  return value->asDouble();
}

std::optional<bool> GgufFile::getBool(std::string_view key) const {
  const GgufValue *value = find(key);
  if (!value)
    return std::nullopt;
  if (!value->asBool())
    failWrongType(label_, key, "bool", *value);
  return value->asBool();
}

std::string GgufFile::requireString(std::string_view key) const {
  if (auto value = getString(key))
    return *value;
  failMissing(label_, key);
}

uint64_t GgufFile::requireUInt(std::string_view key) const {
  if (auto value = getUInt(key))
    return *value;
  failMissing(label_, key);
}

double GgufFile::requireFloat(std::string_view key) const {
  if (auto value = getFloat(key))
    return *value;
  failMissing(label_, key);
}

const GgufTensorInfo *GgufFile::findTensor(std::string_view name) const {
  auto it = tensorIndex_.find(name);
  return it == tensorIndex_.end() ? nullptr : &tensors_[it->second];
}

const GgufTensorInfo &GgufFile::requireTensor(std::string_view name) const {
  if (const GgufTensorInfo *info = findTensor(name))
    return *info;
  fail("{}: tensor '{}': not found ({} tensors in the file)", label_, name, tensors_.size());
}

} // namespace greta
