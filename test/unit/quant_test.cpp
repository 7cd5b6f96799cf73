//===- quant_test.cpp - Quant-block rows against the gguf-py reference -----===//
//
// Reference vectors come from scripts/gen_quant_vectors.py (test/data/quant/index.json says which
// gguf and numpy made them). Decoding and the quantizers gguf-py implements must match bit for
// bit; the K-quant quantizers (which gguf-py lacks) are held to error bounds instead, measured
// through the bit-exact decoder.
//
//===----------------------------------------------------------------------===//
#include "runtime/formats/quant.h"

#include "runtime/support/error.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <bit>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <numbers>
#include <random>
#include <string>
#include <vector>

namespace greta {
namespace {

const std::string kQuantData = std::string(GRETA_TEST_DATA) + "/quant/";

std::vector<uint8_t> readBytes(const std::string &name) {
  std::ifstream in(kQuantData + name, std::ios::binary);
  if (!in)
    throw std::runtime_error("cannot open " + kQuantData + name +
                             " (regenerate with scripts/gen_quant_vectors.py)");
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<float> readFloats(const std::string &name) {
  const std::vector<uint8_t> bytes = readBytes(name);
  std::vector<float> values(bytes.size() / sizeof(float));
  std::memcpy(values.data(), bytes.data(), values.size() * sizeof(float));
  return values;
}

nlohmann::json readIndex(const std::string &name = "index.json") {
  std::ifstream in(kQuantData + name);
  if (!in)
    throw std::runtime_error("cannot open " + kQuantData + name);
  return nlohmann::json::parse(in);
}

TensorType typeNamed(const nlohmann::json &entry) {
  const auto type = parseTensorType(entry.at("type").get<std::string>());
  if (!type)
    throw std::runtime_error("index.json: unknown type " + entry.at("type").dump());
  return *type;
}

/// Compares bit patterns, so NaNs (with payloads) and signed zeros count.
void expectSameBits(std::span<const float> actual, std::span<const float> expected) {
  ASSERT_EQ(actual.size(), expected.size());
  size_t mismatches = 0;
  for (size_t i = 0; i < actual.size(); ++i) {
    const auto got = std::bit_cast<uint32_t>(actual[i]);
    const auto want = std::bit_cast<uint32_t>(expected[i]);
    if (got != want && ++mismatches <= 5)
      ADD_FAILURE() << "element " << i << ": got " << actual[i] << " (0x" << std::hex << got
                    << "), expected " << expected[i] << " (0x" << want << std::dec << ")";
  }
  EXPECT_EQ(mismatches, 0u);
}

/// N(0, 1) values by Box-Muller over mt19937's raw output (both fully specified by the
/// standard, unlike std::normal_distribution), so every platform tests the same rows.
std::vector<float> gaussianRow(size_t elements, uint32_t seed) {
  std::mt19937 rng(seed);
  const auto uniform = [&] { return (rng() + 0.5) / 4294967296.0; }; // in (0, 1)
  std::vector<float> row(elements);
  for (size_t i = 0; i < elements; i += 2) {
    const double radius = std::sqrt(-2 * std::log(uniform()));
    const double angle = 2 * std::numbers::pi * uniform();
    row[i] = static_cast<float>(radius * std::cos(angle));
    if (i + 1 < elements)
      row[i + 1] = static_cast<float>(radius * std::sin(angle));
  }
  return row;
}

std::vector<uint8_t> quantize(TensorType type, std::span<const float> row) {
  std::vector<uint8_t> packed(rowBytes(type, row.size(), "test"));
  quantizeRow(type, row, packed);
  return packed;
}

std::vector<float> dequantize(TensorType type, std::span<const uint8_t> packed, size_t elements) {
  std::vector<float> row(elements);
  dequantizeRow(type, packed, row);
  return row;
}

/// sqrt(sum (x - y)^2 / sum x^2).
double relativeRmsError(std::span<const float> x, std::span<const float> y) {
  double error = 0, energy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    error += (double(x[i]) - y[i]) * (double(x[i]) - y[i]);
    energy += double(x[i]) * x[i];
  }
  return std::sqrt(error / energy);
}

std::string errorOf(const auto &call) {
  try {
    call();
  } catch (const Error &e) {
    return e.what();
  }
  return "(no error)";
}

// Tests that every committed block of every type decodes exactly as gguf-py decodes it, including
// edge scales (zero, negative, subnormal, 65504) and every binary16 subnormal and NaN payload.
TEST(QuantDequantize, MatchesGgufReferenceBitForBit) {
  const nlohmann::json index = readIndex();
  ASSERT_EQ(index.at("dequantize").size(), 8u);
  for (const auto &entry : index.at("dequantize")) {
    const TensorType type = typeNamed(entry);
    SCOPED_TRACE(entry.at("type").get<std::string>());
    const std::vector<uint8_t> blocks = readBytes(entry.at("input"));
    const std::vector<float> expected = readFloats(entry.at("expected"));
    const size_t elements = entry.at("elements");
    ASSERT_EQ(expected.size(), elements);
    expectSameBits(dequantize(type, blocks, elements), expected);
  }
}

// Tests that decoding does not depend on the row's alignment: GGUF blocks of 18 or 34 bytes sit
// at odd offsets of a mapped file.
TEST(QuantDequantize, AcceptsUnalignedRows) {
  for (const char *name : {"Q8_0", "Q4_K", "Q6_K", "F16"}) {
    SCOPED_TRACE(name);
    const TensorType type = *parseTensorType(name);
    const std::vector<uint8_t> blocks = readBytes(std::string(name) + ".blocks.bin");
    const std::vector<float> expected = readFloats(std::string(name) + ".expected.f32.bin");
    std::vector<uint8_t> shifted(blocks.size() + 1);
    std::memcpy(shifted.data() + 1, blocks.data(), blocks.size());
    expectSameBits(dequantize(type, std::span(shifted).subspan(1), expected.size()), expected);
  }
}

/// Quantizes each entry's input row and compares with the reference bytes.
void expectQuantizedBytesMatch(const nlohmann::json &entries) {
  for (const auto &entry : entries) {
    const TensorType type = typeNamed(entry);
    SCOPED_TRACE(entry.at("type").get<std::string>());
    const std::vector<float> input = readFloats(entry.at("input"));
    const std::vector<uint8_t> expected = readBytes(entry.at("expected"));
    ASSERT_EQ(input.size(), size_t(entry.at("elements")));
    const std::vector<uint8_t> actual = quantize(type, input);
    ASSERT_EQ(actual.size(), expected.size());
    const size_t blockBytes = traitsOf(type).blockBytes;
    size_t mismatches = 0;
    for (size_t i = 0; i < actual.size(); ++i)
      if (actual[i] != expected[i] && ++mismatches <= 5)
        ADD_FAILURE() << "block " << i / blockBytes << " byte " << i % blockBytes << ": got "
                      << int(actual[i]) << ", expected " << int(expected[i]);
    EXPECT_EQ(mismatches, 0u);
  }
}

// Tests that the quantizers gguf-py implements produce exactly its bytes: rounding ties, zero,
// tiny and huge blocks for Q8_0/Q4_0; NaN, Inf, overflow, subnormals and ties for F16/BF16.
TEST(QuantQuantize, MatchesGgufReferenceBytes) {
  const nlohmann::json index = readIndex();
  ASSERT_EQ(index.at("quantize").size(), 4u);
  expectQuantizedBytesMatch(index.at("quantize"));
}

// Tests that Q4_K, Q5_K and Q6_K quantize exactly as ggml's reference C quantizers (the bytes
// llama.cpp writes without an importance matrix), across positive-only, zero, constant,
// near-constant, outlier and wide-range sub-blocks (scripts/gen_kquant_vectors.py).
TEST(QuantQuantize, KQuantsMatchGgmlReferenceBytes) {
  const nlohmann::json index = readIndex("kquant_index.json");
  ASSERT_EQ(index.at("quantize").size(), 3u);
  expectQuantizedBytesMatch(index.at("quantize"));
}

struct ErrorBound {
  const char *type;
  double wideRow;  ///< bound on a 4096-wide row
  double shortRow; ///< bound on rows of 1, 2 and 13 blocks (fewer samples, more spread)
};

// Relative RMS error of quantize -> dequantize on N(0, 1) rows. Measured (this test's rows; worst
// of 200-2000 other seeds): Q8_0 0.0053 (0.0056) wide, up to 0.0092 on one block; Q4_0 0.085
// (0.090), 0.149; Q4_K 0.072 (0.075), 0.084; Q5_K 0.037 (0.038), 0.043; Q6_K 0.018 (0.019),
// 0.021. The bounds add ~10% to the worst case seen.
constexpr ErrorBound kErrorBounds[] = {
    {"Q8_0", 0.0062, 0.0100}, {"Q4_0", 0.100, 0.160}, {"Q4_K", 0.083, 0.092},
    {"Q5_K", 0.042, 0.047},   {"Q6_K", 0.0205, 0.023},
};

class QuantErrorTest : public testing::TestWithParam<ErrorBound> {};

// Tests that quantizing Gaussian rows of several lengths (one block, two, a 4096-wide weight
// row, a ragged 13 blocks) and decoding them stays within the type's expected relative RMS error.
TEST_P(QuantErrorTest, GaussianRowsStayWithinBound) {
  const ErrorBound bound = GetParam();
  const TensorType type = *parseTensorType(bound.type);
  const size_t block = traitsOf(type).blockElements;
  for (size_t blocks : {size_t(1), size_t(2), 4096 / block, size_t(13)}) {
    const size_t elements = blocks * block;
    SCOPED_TRACE(elements);
    const std::vector<float> row = gaussianRow(elements, static_cast<uint32_t>(elements));
    const std::vector<float> decoded = dequantize(type, quantize(type, row), elements);
    EXPECT_LT(relativeRmsError(row, decoded), elements == 4096 ? bound.wideRow : bound.shortRow);
  }
}

INSTANTIATE_TEST_SUITE_P(BlockTypes, QuantErrorTest, testing::ValuesIn(kErrorBounds),
                         [](const auto &info) { return std::string(info.param.type); });

// Tests that zeros survive every block type exactly (padding and masked weights stay zero).
TEST(QuantQuantize, ZerosStayZero) {
  for (const char *name : {"Q8_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K"}) {
    SCOPED_TRACE(name);
    const TensorType type = *parseTensorType(name);
    const std::vector<float> zeros(512, 0.f);
    for (float value : dequantize(type, quantize(type, zeros), zeros.size()))
      EXPECT_EQ(value, 0.f);
  }
}

// Tests that a row that is not whole blocks is an error naming the type and its block size.
TEST(QuantRow, PartialBlockIsAnErrorNamingTheBlockSize) {
  std::vector<float> row(100, 1.f);
  std::vector<uint8_t> packed(1000);
  const std::string quantizeError = errorOf([&] { quantizeRow(TensorType::Q4_K, row, packed); });
  EXPECT_NE(quantizeError.find("Q4_K"), std::string::npos) << quantizeError;
  EXPECT_NE(quantizeError.find("256"), std::string::npos) << quantizeError;
  EXPECT_NE(quantizeError.find("100"), std::string::npos) << quantizeError;
  const std::string dequantizeError =
      errorOf([&] { dequantizeRow(TensorType::Q8_0, packed, std::span(row).first(40)); });
  EXPECT_NE(dequantizeError.find("Q8_0"), std::string::npos) << dequantizeError;
  EXPECT_NE(dequantizeError.find("32"), std::string::npos) << dequantizeError;
}

// Tests that a byte buffer of the wrong size is an error stating both sizes.
TEST(QuantRow, WrongByteCountIsAnErrorNamingBothSizes) {
  std::vector<float> row(256, 1.f);
  std::vector<uint8_t> packed(143);
  const std::string error = errorOf([&] { dequantizeRow(TensorType::Q4_K, packed, row); });
  EXPECT_NE(error.find("144"), std::string::npos) << error;
  EXPECT_NE(error.find("143"), std::string::npos) << error;
}

// Tests that a type without a codec is refused by name, in both directions.
TEST(QuantRow, UnsupportedTypeIsAnErrorNamingIt) {
  std::vector<float> row(256, 1.f);
  std::vector<uint8_t> packed(84);
  const std::string error = errorOf([&] { dequantizeRow(TensorType::Q2_K, packed, row); });
  EXPECT_NE(error.find("Q2_K"), std::string::npos) << error;
  EXPECT_NE(error.find("not supported"), std::string::npos) << error;
  EXPECT_NE(errorOf([&] { quantizeRow(TensorType::IQ4_NL, row, packed); }).find("IQ4_NL"),
            std::string::npos);
}

// Tests that NaN or Inf input to a block type is an error naming the element, rather than a
// silently corrupted block; the float types store them as they are.
TEST(QuantRow, NonFiniteInputToBlockTypesIsAnError) {
  std::vector<float> row(32, 1.f);
  row[17] = std::numeric_limits<float>::quiet_NaN();
  std::vector<uint8_t> packed(34);
  const std::string error = errorOf([&] { quantizeRow(TensorType::Q8_0, row, packed); });
  EXPECT_NE(error.find("element 17"), std::string::npos) << error;
  std::vector<uint8_t> half(64);
  EXPECT_NO_THROW(quantizeRow(TensorType::F16, row, half));
}

// Tests binary16 narrowing at its edges: ties to even, subnormals, overflow to Inf, NaN kept.
TEST(HalfFloat, NarrowingRoundsToNearestEven) {
  EXPECT_EQ(floatToHalf(1.0f), 0x3c00);
  EXPECT_EQ(floatToHalf(-2.0f), 0xc000);
  EXPECT_EQ(floatToHalf(0.0f), 0x0000);
  EXPECT_EQ(floatToHalf(-0.0f), 0x8000);
  // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties go to the even mantissa.
  EXPECT_EQ(floatToHalf(1.0f + 0x1p-11f), 0x3c00);
  EXPECT_EQ(floatToHalf(1.0f + 3 * 0x1p-11f), 0x3c02);
  EXPECT_EQ(floatToHalf(1.0f + 0x1p-11f + 0x1p-20f), 0x3c01);
  // Subnormals: 2^-24 is the smallest; 2^-25 ties to zero; 3 * 2^-25 ties up to 2 * 2^-24.
  EXPECT_EQ(floatToHalf(0x1p-24f), 0x0001);
  EXPECT_EQ(floatToHalf(0x1p-25f), 0x0000);
  EXPECT_EQ(floatToHalf(0x1p-25f + 0x1p-40f), 0x0001);
  EXPECT_EQ(floatToHalf(3 * 0x1p-25f), 0x0002);
  EXPECT_EQ(floatToHalf(-0x1p-24f), 0x8001);
  EXPECT_EQ(floatToHalf(0x1p-14f - 0x1p-25f), 0x0400); // rounds up into the normals
  EXPECT_EQ(floatToHalf(1e-30f), 0x0000);
  EXPECT_EQ(floatToHalf(std::numeric_limits<float>::denorm_min()), 0x0000);
  // Overflow: 65504 is the largest; 65520 is the rounding boundary.
  EXPECT_EQ(floatToHalf(65504.f), 0x7bff);
  EXPECT_EQ(floatToHalf(65519.99f), 0x7bff);
  EXPECT_EQ(floatToHalf(65520.f), 0x7c00);
  EXPECT_EQ(floatToHalf(-1e10f), 0xfc00);
  EXPECT_EQ(floatToHalf(std::numeric_limits<float>::infinity()), 0x7c00);
  EXPECT_EQ(floatToHalf(-std::numeric_limits<float>::infinity()), 0xfc00);
  // NaN stays NaN, sign and top payload bits kept, never turned into Inf.
  EXPECT_EQ(floatToHalf(std::bit_cast<float>(0x7fc00000u)), 0x7e00);
  EXPECT_EQ(floatToHalf(std::bit_cast<float>(0xffc00000u)), 0xfe00);
  EXPECT_EQ(floatToHalf(std::bit_cast<float>(0x7f800001u)), 0x7c01);
}

// Tests binary16 widening: exact for subnormals, Inf and NaN payloads.
TEST(HalfFloat, WideningIsExact) {
  EXPECT_EQ(halfToFloat(0x3c00), 1.0f);
  EXPECT_EQ(halfToFloat(0x0001), 0x1p-24f);
  EXPECT_EQ(halfToFloat(0x03ff), 1023 * 0x1p-24f);
  EXPECT_EQ(halfToFloat(0x0400), 0x1p-14f);
  EXPECT_EQ(halfToFloat(0x7bff), 65504.f);
  EXPECT_EQ(std::bit_cast<uint32_t>(halfToFloat(0x8000)), 0x80000000u);
  EXPECT_EQ(halfToFloat(0x7c00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(std::bit_cast<uint32_t>(halfToFloat(0x7d00)), 0x7fa00000u); // signalling payload
  EXPECT_EQ(std::bit_cast<uint32_t>(halfToFloat(0xfe01)), 0xffc02000u);
}

// Tests that every one of the 65536 binary16 patterns survives widening and narrowing unchanged.
TEST(HalfFloat, EveryPatternRoundTrips) {
  for (uint32_t bits = 0; bits <= 0xffff; ++bits)
    ASSERT_EQ(floatToHalf(halfToFloat(static_cast<uint16_t>(bits))), bits) << std::hex << bits;
}

// Tests bfloat16 narrowing: ties to even, overflow to Inf, NaN quieted (as ggml does).
TEST(BFloat16, NarrowingRoundsToNearestEvenAndQuietsNaN) {
  EXPECT_EQ(floatToBf16(1.0f), 0x3f80);
  EXPECT_EQ(floatToBf16(std::bit_cast<float>(0x3f808000u)), 0x3f80); // tie, even stays
  EXPECT_EQ(floatToBf16(std::bit_cast<float>(0x3f818000u)), 0x3f82); // tie, odd rounds up
  EXPECT_EQ(floatToBf16(std::bit_cast<float>(0x3f808001u)), 0x3f81);
  EXPECT_EQ(floatToBf16(std::numeric_limits<float>::max()), 0x7f80); // overflows to Inf
  EXPECT_EQ(floatToBf16(-std::numeric_limits<float>::infinity()), 0xff80);
  EXPECT_EQ(floatToBf16(std::bit_cast<float>(0x00008000u)), 0x0000); // subnormal tie
  EXPECT_EQ(floatToBf16(std::bit_cast<float>(0x7f800001u)), 0x7fc0); // signalling -> quiet
  EXPECT_EQ(floatToBf16(std::bit_cast<float>(0xffc00000u)), 0xffc0);
  EXPECT_EQ(bf16ToFloat(0x3f80), 1.0f);
  EXPECT_EQ(std::bit_cast<uint32_t>(bf16ToFloat(0x7f81)), 0x7f810000u);
}

} // namespace
} // namespace greta
