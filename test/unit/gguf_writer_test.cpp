#include "runtime/formats/gguf.h"

#include "test/unit/gguf_sample.h"
#include "test/unit/gguf_test_support.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <unistd.h>

namespace greta {
namespace {

namespace fs = std::filesystem;
using test::expectError;

/// A fresh directory per test, removed afterwards.
class GgufWriterFileTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           fmt::format("greta-gguf-writer-{}-{}", ::getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::vector<uint8_t> readAll(const fs::path &path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
  size_t entriesInDir() {
    return static_cast<size_t>(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()));
  }

  fs::path dir_;
};

// Tests that every metadata value type, nested arrays and string arrays read back identical,
// in file order, with their declared widths.
TEST(GgufWriter, MetadataRoundTripsEveryValueType) {
  std::vector<uint8_t> bytes = test::sampleWriter().toBytes();
  GgufFile file = GgufFile::parse(bytes, "sample.gguf");
  auto expected = test::sampleMetadata();
  expected.emplace_back("general.alignment", GgufValue::u32(test::kSampleAlignment));
  ASSERT_EQ(file.metadata().size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(file.metadata()[i].first, expected[i].first);
    EXPECT_TRUE(file.metadata()[i].second == expected[i].second) << expected[i].first;
  }
  EXPECT_EQ(file.version(), 3u);
  EXPECT_EQ(file.getUInt("test.uint64"), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(file.find("test.int64")->asInt(), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(file.find("test.uint16")->type(), GgufValueType::UInt16);
  EXPECT_FLOAT_EQ(static_cast<float>(*file.getFloat("test.float32")), 0.1f);
  const GgufArray *nested = file.find("test.nested")->array();
  ASSERT_NE(nested, nullptr);
  EXPECT_EQ(nested->elementType, GgufValueType::Array);
  ASSERT_EQ(nested->elements.size(), 3u);
  EXPECT_EQ(nested->elements[2].array()->elements.size(), 0u);
  EXPECT_EQ(*file.find("test.nested_strings")->array()->elements[1].array()->elements[0].string(),
            "z");
}

// Tests that tensors keep their declaration order, types, shapes and exact bytes, and that the
// data section and every tensor start on the configured alignment.
TEST(GgufWriter, TensorsRoundTripAligned) {
  std::vector<uint8_t> bytes = test::sampleWriter().toBytes();
  GgufFile file = GgufFile::parse(bytes, "sample.gguf");
  EXPECT_EQ(file.alignment(), test::kSampleAlignment);
  EXPECT_EQ(file.dataOffset() % test::kSampleAlignment, 0u);
  const auto &expected = test::sampleTensors();
  ASSERT_EQ(file.tensors().size(), expected.size());
  for (size_t t = 0; t < expected.size(); ++t) {
    const GgufTensorInfo &info = file.tensors()[t];
    EXPECT_EQ(info.name, expected[t].name);
    EXPECT_EQ(info.type, expected[t].type);
    EXPECT_EQ(info.dims, expected[t].dims);
    EXPECT_EQ(info.offset % test::kSampleAlignment, 0u);
    ASSERT_EQ(info.data.size(), info.bytes);
    EXPECT_EQ(std::vector<uint8_t>(info.data.begin(), info.data.end()),
              test::sampleTensorBytes(t, info.bytes))
        << info.name;
  }
  // Q4_K: 3 rows of one 256-element block of 144 bytes each.
  EXPECT_EQ(file.requireTensor("blk.0.q4_k.weight").bytes, 3u * 144u);
  // The file ends with the last tensor padded to the alignment, as llama.cpp writes it.
  EXPECT_EQ(bytes.size() % test::kSampleAlignment, 0u);
}

// Tests that write() produces exactly the bytes toBytes() does, leaves no temporary file behind,
// and reports progress once for the header and once per tensor, ending at the file size.
TEST_F(GgufWriterFileTest, WriteMatchesToBytesAndReportsProgress) {
  GgufWriter writer = test::sampleWriter();
  fs::path path = dir_ / "sample.gguf";
  std::vector<std::pair<uint64_t, uint64_t>> calls;
  writer.write(path, [&](uint64_t done, uint64_t total) { calls.emplace_back(done, total); });
  std::vector<uint8_t> expected = writer.toBytes();
  EXPECT_EQ(readAll(path), expected);
  EXPECT_EQ(entriesInDir(), 1u);
  ASSERT_EQ(calls.size(), 1 + test::sampleTensors().size());
  EXPECT_EQ(calls.back().first, expected.size());
  for (size_t i = 1; i < calls.size(); ++i)
    EXPECT_GT(calls[i].first, calls[i - 1].first);
  GgufFile file = GgufFile::open(path);
  EXPECT_EQ(file.tensors().size(), test::sampleTensors().size());
}

// Tests that a filler that throws leaves neither the target nor a temporary file, and that an
// existing file at the target is left as it was.
TEST_F(GgufWriterFileTest, FailedWriteLeavesNothingBehind) {
  fs::path path = dir_ / "model.gguf";
  std::ofstream(path) << "previous contents";
  GgufWriter writer;
  writer.add("general.architecture", GgufValue::str("llama"));
  writer.addTensor("a", TensorType::F32, {4}, [](std::span<uint8_t>) {});
  writer.addTensor("b", TensorType::F32, {4},
                   [](std::span<uint8_t>) { throw Error("filler failed"); });
  expectError([&] { writer.write(path); }, {"filler failed"});
  EXPECT_EQ(entriesInDir(), 1u);
  std::vector<uint8_t> contents = readAll(path);
  EXPECT_EQ(std::string(contents.begin(), contents.end()), "previous contents");
}

// Tests that an unwritable destination is an error naming the path.
TEST_F(GgufWriterFileTest, UnwritableDirectoryNamesPath) {
  fs::path path = dir_ / "missing-dir" / "model.gguf";
  expectError([&] { GgufWriter().write(path); }, {path.string(), "cannot create"});
}

// Tests that a tensor larger than any I/O chunk streams through intact (first, middle and last
// bytes in place) and that the filler sees exactly the tensor's size.
TEST_F(GgufWriterFileTest, LargeTensorStreams) {
  constexpr uint64_t kRows = 1024, kCols = 8192; // 32 MiB of F32
  GgufWriter writer;
  uint64_t seen = 0;
  writer.addTensor("big", TensorType::F32, {kCols, kRows}, [&](std::span<uint8_t> dst) {
    seen = dst.size();
    for (size_t i = 0; i < dst.size(); ++i)
      dst[i] = static_cast<uint8_t>(i % 251);
  });
  fs::path path = dir_ / "big.gguf";
  writer.write(path);
  EXPECT_EQ(seen, kRows * kCols * 4);
  GgufFile file = GgufFile::open(path);
  auto data = file.requireTensor("big").data;
  ASSERT_EQ(data.size(), kRows * kCols * 4);
  for (size_t i : {size_t{0}, data.size() / 2 + 3, data.size() - 1})
    EXPECT_EQ(data[i], i % 251) << i;
}

// Tests that the writer refuses keys and tensor names given twice, naming them.
TEST(GgufWriter, RefusesDuplicates) {
  GgufWriter writer;
  writer.add("general.name", GgufValue::str("x"));
  expectError([&] { writer.add("general.name", GgufValue::str("y")); },
              {"'general.name'", "added twice"});
  writer.addTensor("t", TensorType::F32, {2}, std::vector<uint8_t>(8));
  expectError([&] { writer.addTensor("t", TensorType::F32, {2}, std::vector<uint8_t>(8)); },
              {"tensor 't'", "added twice"});
  expectError([&] { writer.add("", GgufValue::u32(1)); }, {"key is empty"});
}

// Tests that the writer checks shapes with the reader's rules: dimension count, zero dims, whole
// blocks per row, and that a byte vector must match the shape.
TEST(GgufWriter, RefusesBadShapes) {
  GgufWriter writer;
  auto noop = [](std::span<uint8_t>) {};
  expectError([&] { writer.addTensor("five", TensorType::F32, {1, 1, 1, 1, 1}, noop); },
              {"tensor 'five'", "5 dimensions", "1 to 4"});
  expectError([&] { writer.addTensor("none", TensorType::F32, {}, noop); },
              {"tensor 'none'", "0 dimensions"});
  expectError([&] { writer.addTensor("zero", TensorType::F32, {4, 0}, noop); },
              {"tensor 'zero'", "dimension 1 is 0"});
  expectError([&] { writer.addTensor("q", TensorType::Q4_K, {100, 2}, noop); },
              {"tensor 'q'", "100", "Q4_K block size 256"});
  expectError([&] { writer.addTensor("v", TensorType::Q8_0, {32, 2}, std::vector<uint8_t>(10)); },
              {"tensor 'v'", "10 bytes given", "needs 68"});
  expectError([&] { writer.addTensor("f", TensorType::F32, {2}, GgufTensorFiller{}); },
              {"tensor 'f'", "no filler"});
  expectError([&] { writer.addTensor(std::string(300, 'n'), TensorType::F32, {2}, noop); },
              {"name length 300", "256"});
}

// Tests that arrays must be homogeneous and within the nesting limit a reader accepts.
TEST(GgufWriter, RefusesMalformedArrays) {
  GgufWriter writer;
  GgufValue mixed = GgufValue::makeArray({GgufValueType::Int32, {GgufValue::i32(1), GgufValue::str("x")}});
  expectError([&] { writer.add("mixed", mixed); },
              {"'mixed'[1]", "element type string", "element type int32"});
  GgufValue deep = GgufValue::i32s({1});
  for (int i = 0; i < 8; ++i)
    deep = GgufValue::makeArray({GgufValueType::Array, {deep}});
  expectError([&] { writer.add("deep", deep); }, {"'deep'", "nested too deep", "9 vs limit 8"});
}

// Tests that alignment must be a power of two held as uint32, by either route.
TEST(GgufWriter, RefusesBadAlignment) {
  GgufWriter writer;
  expectError([&] { writer.setAlignment(48); }, {"alignment 48", "power of two"});
  expectError([&] { writer.setAlignment(0); }, {"alignment 0"});
  expectError([&] { writer.add("general.alignment", GgufValue::makeUInt(GgufValueType::UInt64, 64)); },
              {"general.alignment", "uint64", "expected uint32"});
  writer.add("general.alignment", GgufValue::u32(128));
  writer.addTensor("t", TensorType::F32, {3}, std::vector<uint8_t>(12));
  std::vector<uint8_t> bytes = writer.toBytes();
  EXPECT_EQ(GgufFile::parse(bytes, "a.gguf").alignment(), 128u);
}

// Tests that value factories refuse values that do not fit the declared type.
TEST(GgufValue, FactoriesCheckRanges) {
  expectError([] { GgufValue::makeUInt(GgufValueType::UInt8, 256); }, {"256", "uint8", "255"});
  expectError([] { GgufValue::makeInt(GgufValueType::Int16, -40000); }, {"-40000", "int16"});
  expectError([] { GgufValue::makeInt(GgufValueType::UInt32, -1); }, {"-1", "uint32"});
  expectError([] { GgufValue::makeFloat(GgufValueType::UInt32, 1.0); }, {"not a float type"});
  expectError([] { GgufValue::makeUInt(GgufValueType::String, 1); }, {"not an integer type"});
  EXPECT_EQ(GgufValue::makeUInt(GgufValueType::Int8, 127).asInt(), 127);
  EXPECT_EQ(GgufValue::makeInt(GgufValueType::Int64, -5).asUInt(), std::nullopt);
  EXPECT_EQ(GgufValue::makeBool(true).asUInt(), 1u);
}

} // namespace
} // namespace greta
