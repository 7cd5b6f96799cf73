#include "runtime/formats/gguf.h"

#include "test/unit/gguf_test_support.h"

#include <gtest/gtest.h>

namespace greta {
namespace {

using test::expectError;
using test::offsetAfter;
using test::patch;

constexpr std::string_view kLabel = "bad.gguf";

// Fixed header field offsets (magic, version, tensor count, metadata count).
constexpr size_t kVersionAt = 4, kTensorCountAt = 8, kMetadataCountAt = 16;

/// A small valid file: a string, a string array, a nested array, two u32 keys, a bool, an
/// explicit alignment, and three tensors of different types. Key and tensor names are distinct
/// substrings so each field can be found by the bytes of its name.
std::vector<uint8_t> validImage() {
  GgufWriter writer;
  writer.add("s.one", GgufValue::str("hello"));
  writer.add("s.list", GgufValue::strings({"x", "yy"}));
  writer.add("n.nested", GgufValue::makeArray({GgufValueType::Array,
                                               {GgufValue::i32s({1, 2}), GgufValue::i32s({3})}}));
  writer.add("key.a", GgufValue::u32(7));
  writer.add("key.b", GgufValue::u32(8));
  writer.add("b.flag", GgufValue::makeBool(true));
  writer.setAlignment(32);
  writer.addTensor("t.a", TensorType::F32, {8, 2}, std::vector<uint8_t>(64, 1));
  writer.addTensor("t.b", TensorType::Q8_0, {32, 2}, std::vector<uint8_t>(68, 2));
  writer.addTensor("t.c", TensorType::F16, {4}, std::vector<uint8_t>(8, 3));
  return writer.toBytes();
}

GgufFile parse(const std::vector<uint8_t> &bytes, const GgufLimits &limits = {}) {
  return GgufFile::parse(bytes, std::string(kLabel), limits);
}

/// Where the fields of tensor entry `name` start.
struct TensorFields {
  size_t dimCount, dims, type, offset;
};
TensorFields tensorFields(const std::vector<uint8_t> &bytes, std::string_view name) {
  size_t at = offsetAfter(bytes, name);
  uint32_t nDims = test::peek<uint32_t>(bytes, at);
  return {at, at + 4, at + 4 + 8 * nDims, at + 4 + 8 * nDims + 4};
}

// Tests that the fixture itself is valid, so every failure below comes from its one defect.
TEST(GgufCorruption, FixtureIsValid) {
  std::vector<uint8_t> bytes = validImage();
  GgufFile file = parse(bytes);
  EXPECT_EQ(file.metadata().size(), 7u);
  EXPECT_EQ(file.tensors().size(), 3u);
}

// Tests that cutting the file at every byte before the end of the last tensor's data is an
// error naming the file and saying what ran out, never a crash; and that only the final
// padding may be missing.
TEST(GgufCorruption, TruncationAtEveryByte) {
  std::vector<uint8_t> bytes = validImage();
  GgufFile full = parse(bytes);
  const GgufTensorInfo &last = full.tensors().back();
  size_t end = full.dataOffset() + last.offset + last.bytes;
  for (size_t size = 0; size < end; ++size) {
    std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + size);
    std::string message = test::errorOf([&] { parse(cut); });
    EXPECT_EQ(message.rfind(std::string(kLabel) + ": ", 0), 0u) << size << ": " << message;
    bool explains = message.find("truncated") != std::string::npos ||
                    message.find("past end of file") != std::string::npos ||
                    message.find("cannot fit") != std::string::npos;
    EXPECT_TRUE(explains) << "cut at " << size << ": " << message;
  }
  for (size_t size = end; size <= bytes.size(); ++size)
    EXPECT_NO_THROW(parse(std::vector<uint8_t>(bytes.begin(), bytes.begin() + size))) << size;
}

// Tests that overwriting any header, metadata or tensor-table byte with extreme values either
// still parses or fails with greta::Error: no crash, no other exception, no huge allocation.
TEST(GgufCorruption, ByteMutationsNeverCrash) {
  std::vector<uint8_t> bytes = validImage();
  size_t preamble = parse(bytes).dataOffset();
  for (size_t at = 0; at < preamble; ++at)
    for (uint8_t value : {0x00, 0x01, 0x7f, 0x80, 0xff}) {
      std::vector<uint8_t> mutated = bytes;
      mutated[at] = value;
      try {
        parse(mutated);
      } catch (const Error &) {
      } catch (const std::exception &e) {
        ADD_FAILURE() << "byte " << at << " = " << int(value) << ": " << e.what();
      }
    }
}

// Tests that a file that is not GGUF is named as such.
TEST(GgufCorruption, BadMagic) {
  std::vector<uint8_t> bytes = validImage();
  bytes[0] = 'X';
  expectError([&] { parse(bytes); }, {"bad.gguf: header magic", "'XGUF'", "not a GGUF file"});
}

// Tests that versions 1 and 99 are refused naming the supported versions.
TEST(GgufCorruption, UnsupportedVersions) {
  for (uint32_t version : {1u, 99u}) {
    std::vector<uint8_t> bytes = validImage();
    patch<uint32_t>(bytes, kVersionAt, version);
    expectError([&] { parse(bytes); },
                {"header version", fmt::format("version {} is not supported", version),
                 "supported versions: 2 to 3"});
  }
}

// Tests that a big-endian file (its version byte-swapped) is recognised and refused as such.
TEST(GgufCorruption, BigEndianVersion) {
  std::vector<uint8_t> bytes = validImage();
  patch<uint32_t>(bytes, kVersionAt, 0x03000000u);
  expectError([&] { parse(bytes); }, {"header version", "0x03000000", "version 3 byte-swapped",
                                      "big-endian GGUF files are not supported"});
}

// Tests that counts that could never fit in the file are refused before anything is allocated.
TEST(GgufCorruption, AbsurdCounts) {
  std::vector<uint8_t> bytes = validImage();
  patch<uint64_t>(bytes, kMetadataCountAt, uint64_t{1} << 60);
  expectError([&] { parse(bytes); },
              {"header metadata count", "1152921504606846976 vs limit", "cannot fit"});
  bytes = validImage();
  patch<uint64_t>(bytes, kTensorCountAt, uint64_t{1} << 60);
  expectError([&] { parse(bytes); },
              {"header tensor count", "1152921504606846976 vs limit", "cannot fit"});
}

// Tests that a string length over the limit, or past the end of the file, names the entry.
TEST(GgufCorruption, AbsurdStringLengths) {
  std::vector<uint8_t> bytes = validImage();
  size_t valueAt = offsetAfter(bytes, "s.one") + 4;
  patch<uint64_t>(bytes, valueAt, uint64_t{1} << 40);
  expectError([&] { parse(bytes); },
              {"metadata 0 's.one'", "string length too large", "1099511627776 vs limit 16777216"});
  bytes = validImage();
  patch<uint64_t>(bytes, valueAt, 1u << 20);
  expectError([&] { parse(bytes); }, {"metadata 0 's.one'", "extends past end of file"});
  // A string inside an array is named by its index.
  bytes = validImage();
  size_t secondElementAt = offsetAfter(bytes, "s.list") + 4 + 4 + 8 + 8 + 1;
  patch<uint64_t>(bytes, secondElementAt, uint64_t{1} << 40);
  expectError([&] { parse(bytes); }, {"metadata 1 's.list'[1]", "string length too large"});
  // A key's own length.
  bytes = validImage();
  patch<uint64_t>(bytes, test::offsetOf(bytes, "s.one") - 8, uint64_t{1} << 40);
  expectError([&] { parse(bytes); }, {"metadata 0 key", "string length too large"});
}

// Tests that array lengths over the limit or beyond the bytes left are refused before
// allocating, naming the entry and the limit.
TEST(GgufCorruption, AbsurdArrayLengths) {
  std::vector<uint8_t> bytes = validImage();
  size_t lengthAt = offsetAfter(bytes, "s.list") + 4 + 4;
  patch<uint64_t>(bytes, lengthAt, uint64_t{1} << 40);
  expectError([&] { parse(bytes); }, {"metadata 1 's.list' array length",
                                      "array length too large", "1099511627776 vs limit 16777216"});
  bytes = validImage();
  patch<uint64_t>(bytes, lengthAt, 1u << 20);
  expectError([&] { parse(bytes); },
              {"metadata 1 's.list' array length", "cannot fit", "1048576 vs limit"});
}

// Tests that the elements of all arrays together are capped, not only each array, so a file of
// many long byte arrays cannot make the reader hold ~48 times the file size in GgufValues
// (found by fuzzing review: 48 MB of uint8 arrays took 2.4 GB).
TEST(GgufCorruption, TooManyArrayElementsInTotal) {
  std::vector<uint8_t> bytes = validImage();
  GgufLimits limits;
  limits.maxTotalArrayElements = 3; // "s.list" has 2, "n.nested" 2 + 2 + 1
  expectError([&] { parse(bytes, limits); },
              {"metadata 2 'n.nested' array length", "too large in total",
               "2 elements before this array of 2 vs limit 3"});
  limits.maxTotalArrayElements = 7;
  EXPECT_NO_THROW(parse(bytes, limits));
  EXPECT_GT(GgufLimits().maxTotalArrayElements, GgufLimits().maxArrayElements);
}

// Tests that arrays nested past the limit are refused (and do not exhaust the stack), both for
// a configured limit and for a crafted file nested 10,000 deep.
TEST(GgufCorruption, ArrayNestingTooDeep) {
  std::vector<uint8_t> bytes = validImage();
  GgufLimits limits;
  limits.maxArrayDepth = 1;
  expectError([&] { parse(bytes, limits); },
              {"metadata 2 'n.nested'[0]", "nested too deep", "2 vs limit 1"});

  std::vector<uint8_t> crafted;
  auto put = [&](auto value) {
    const auto *p = reinterpret_cast<const uint8_t *>(&value);
    crafted.insert(crafted.end(), p, p + sizeof(value));
  };
  put(uint32_t{0x46554747}), put(uint32_t{3}), put(uint64_t{0}), put(uint64_t{1});
  put(uint64_t{4}), crafted.insert(crafted.end(), {'d', 'e', 'e', 'p'});
  put(uint32_t{9});
  for (int i = 0; i < 10000; ++i)
    put(uint32_t{9}), put(uint64_t{1});
  expectError([&] { parse(crafted); },
              {"metadata 0 'deep'[0][0][0][0][0][0][0][0]", "nested too deep", "9 vs limit 8"});
}

// Tests that unknown value type ids and bool bytes other than 0/1 are refused.
TEST(GgufCorruption, UnknownValueTypeAndBadBool) {
  std::vector<uint8_t> bytes = validImage();
  patch<uint32_t>(bytes, offsetAfter(bytes, "s.one"), 13);
  expectError([&] { parse(bytes); },
              {"metadata 0 's.one' value type", "unknown value type id 13", "0 to 12"});
  bytes = validImage();
  patch<uint32_t>(bytes, offsetAfter(bytes, "s.list") + 4, 77);
  expectError([&] { parse(bytes); },
              {"metadata 1 's.list' array element type", "unknown value type id 77"});
  bytes = validImage();
  patch<uint8_t>(bytes, offsetAfter(bytes, "b.flag") + 4, 2);
  expectError([&] { parse(bytes); }, {"metadata 5 'b.flag'", "bool value 2 is not 0 or 1"});
}

// Tests that duplicate keys and duplicate tensor names name both entries.
TEST(GgufCorruption, Duplicates) {
  std::vector<uint8_t> bytes = validImage();
  bytes[test::offsetOf(bytes, "key.b") + 4] = 'a';
  expectError([&] { parse(bytes); },
              {"metadata 4 'key.a'", "duplicate key", "first defined as metadata 3"});
  bytes = validImage();
  bytes[test::offsetOf(bytes, "t.b") + 2] = 'a';
  expectError([&] { parse(bytes); },
              {"tensor 1 't.a'", "duplicate tensor name", "first defined as tensor 0"});
}

// Tests that general.alignment must be a nonzero power of two stored as uint32.
TEST(GgufCorruption, BadAlignment) {
  for (uint32_t alignment : {0u, 48u}) {
    std::vector<uint8_t> bytes = validImage();
    patch<uint32_t>(bytes, offsetAfter(bytes, "general.alignment") + 4, alignment);
    expectError([&] { parse(bytes); },
                {"metadata 6 'general.alignment'",
                 fmt::format("alignment {} is not a nonzero power of two", alignment)});
  }
  std::vector<uint8_t> bytes = validImage();
  patch<uint32_t>(bytes, offsetAfter(bytes, "general.alignment"), 5); // int32, same width
  expectError([&] { parse(bytes); },
              {"'general.alignment'", "type is int32, expected uint32"});
}

// Tests that tensor type ids no ggml version defines are refused.
TEST(GgufCorruption, UnknownTensorType) {
  std::vector<uint8_t> bytes = validImage();
  patch<uint32_t>(bytes, tensorFields(bytes, "t.b").type, 31);
  expectError([&] { parse(bytes); }, {"tensor 1 't.b'", "unknown tensor type id 31"});
}

// Tests the shape rules: 1 to 4 dimensions, none zero, element count within int64, rows of
// whole blocks.
TEST(GgufCorruption, BadShapes) {
  std::vector<uint8_t> bytes = validImage();
  patch<uint32_t>(bytes, tensorFields(bytes, "t.a").dimCount, 5);
  expectError([&] { parse(bytes); }, {"tensor 0 't.a'", "5 dimensions (must be 1 to 4)"});
  bytes = validImage();
  patch<uint32_t>(bytes, tensorFields(bytes, "t.a").dimCount, 0);
  expectError([&] { parse(bytes); }, {"tensor 0 't.a'", "0 dimensions"});
  bytes = validImage();
  patch<uint64_t>(bytes, tensorFields(bytes, "t.a").dims + 8, 0);
  expectError([&] { parse(bytes); }, {"tensor 0 't.a'", "dimension 1 is 0"});
  bytes = validImage();
  patch<uint64_t>(bytes, tensorFields(bytes, "t.a").dims, uint64_t{1} << 40);
  patch<uint64_t>(bytes, tensorFields(bytes, "t.a").dims + 8, uint64_t{1} << 40);
  expectError([&] { parse(bytes); },
              {"tensor 0 't.a'", "1099511627776 x 1099511627776", "overflows",
               "limit 9223372036854775807"});
  bytes = validImage();
  patch<uint64_t>(bytes, tensorFields(bytes, "t.b").dims, 48);
  expectError([&] { parse(bytes); },
              {"tensor 1 't.b'", "row of 48 elements", "Q8_0 block size 32"});
}

// Tests that tensor names over the limit are refused naming the limit.
TEST(GgufCorruption, TensorNameTooLong) {
  std::vector<uint8_t> bytes = validImage();
  patch<uint64_t>(bytes, test::offsetOf(bytes, "t.a") - 8, 300);
  expectError([&] { parse(bytes); }, {"tensor 0 name", "300 vs limit 256"});
}

// Tests that offsets must be aligned, inside the file, and not overlap another tensor.
TEST(GgufCorruption, BadOffsets) {
  std::vector<uint8_t> bytes = validImage();
  patch<uint64_t>(bytes, tensorFields(bytes, "t.b").offset, 8);
  expectError([&] { parse(bytes); },
              {"tensor 1 't.b'", "offset 8 is not a multiple of the alignment 32"});
  bytes = validImage();
  patch<uint64_t>(bytes, tensorFields(bytes, "t.b").offset, 4096);
  expectError([&] { parse(bytes); },
              {"tensor 1 't.b'", "data [4096, 4164) extends past end of file"});
  bytes = validImage();
  patch<uint64_t>(bytes, tensorFields(bytes, "t.b").offset, uint64_t{0} - 64);
  expectError([&] { parse(bytes); }, {"tensor 1 't.b'", "18446744073709551552 + 68 overflows"});
  bytes = validImage();
  patch<uint64_t>(bytes, tensorFields(bytes, "t.c").offset, 32);
  expectError([&] { parse(bytes); },
              {"tensor 2 't.c'", "data [32, 40) overlaps tensor 0 't.a' data [0, 64)"});
}

// Tests that an empty metadata key, which GgufWriter refuses to write, is refused on reading too,
// naming the file and the entry. Regression: the fuzzer's reproducer (a valid file but for its
// one empty key), and an empty key after a valid one.
TEST(GgufCorruption, EmptyKey) {
  const std::string reproducer =
      std::string(GRETA_TEST_DATA) + "/../fuzz/corpus/gguf_reader_fuzzer/regress-empty-key";
  expectError([&] { GgufFile::open(reproducer); },
              {"regress-empty-key: metadata 0 key", "key is empty"});

  GgufWriter writer;
  writer.add("a.first", GgufValue::u32(7));
  writer.add("b", GgufValue::u32(8));
  std::vector<uint8_t> bytes = writer.toBytes();
  const size_t key = test::offsetOf(bytes, "b");
  bytes.erase(bytes.begin() + static_cast<std::ptrdiff_t>(key));
  patch<uint64_t>(bytes, key - sizeof(uint64_t), 0);
  expectError([&] { parse(bytes); }, {"bad.gguf: metadata 1 key", "key is empty"});
}

} // namespace
} // namespace greta
