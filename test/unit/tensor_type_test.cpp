#include "runtime/formats/tensor_type.h"

#include "runtime/support/error.h"

#include <gtest/gtest.h>

namespace greta {
namespace {

// Tests that the block geometry of the types GRETA computes with matches ggml's.
TEST(TensorType, BlockGeometryOfComputeTypes) {
  EXPECT_EQ(traitsOf(TensorType::Q4_K).blockElements, 256u);
  EXPECT_EQ(traitsOf(TensorType::Q4_K).blockBytes, 144u);
  EXPECT_EQ(traitsOf(TensorType::Q6_K).blockBytes, 210u);
  EXPECT_EQ(traitsOf(TensorType::Q5_K).blockBytes, 176u);
  EXPECT_EQ(traitsOf(TensorType::Q8_0).blockBytes, 34u);
  EXPECT_EQ(traitsOf(TensorType::Q4_0).blockBytes, 18u);
  EXPECT_EQ(traitsOf(TensorType::BF16).blockBytes, 2u);
}

// Tests that retired or unknown ids are rejected rather than guessed.
TEST(TensorType, UnknownIdsHaveNoTraits) {
  EXPECT_FALSE(tensorTypeTraits(4).has_value());
  EXPECT_FALSE(tensorTypeTraits(31).has_value());
  EXPECT_FALSE(tensorTypeTraits(1000).has_value());
  EXPECT_TRUE(tensorTypeTraits(30).has_value());
}

// Tests that a row which is not a whole number of blocks is an error naming the type and limit.
TEST(TensorType, RowBytesRejectsPartialBlocks) {
  EXPECT_EQ(rowBytes(TensorType::Q4_K, 4096, "t"), 16u * 144u);
  try {
    rowBytes(TensorType::Q4_K, 100, "blk.0.attn_q.weight");
    FAIL() << "expected an error";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("blk.0.attn_q.weight"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("256"), std::string::npos);
  }
}

// Tests that names parse case-insensitively and round-trip.
TEST(TensorType, ParseNames) {
  EXPECT_EQ(parseTensorType("q4_k"), TensorType::Q4_K);
  EXPECT_EQ(parseTensorType("F32"), TensorType::F32);
  EXPECT_FALSE(parseTensorType("Q9_K").has_value());
  EXPECT_EQ(nameOf(TensorType::Q6_K), "Q6_K");
}

} // namespace
} // namespace greta
