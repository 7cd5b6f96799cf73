#include "runtime/formats/gguf.h"

#include "test/unit/gguf_sample.h"
#include "test/unit/gguf_test_support.h"
#include "test/unit/support/shared_testdata.h"

#include <gtest/gtest.h>

namespace greta {
namespace {

using test::expectError;

const std::string kLlama3Vocab =
    std::string(GRETA_SHARED_TESTDATA) + "/llama3-tokenizer/llama3-vocab.gguf";
const std::string kSpmVocab = std::string(GRETA_SHARED_TESTDATA) + "/llama-spm/ggml-vocab-llama-spm.gguf";

// Tests that the Llama-3 vocabulary written by llama.cpp's converter loads with its full token
// list, merges and special ids.
TEST(GgufReader, LoadsLlama3Vocabulary) {
  GRETA_NEEDS_SHARED_TESTDATA();
  GgufFile file = GgufFile::open(kLlama3Vocab);
  EXPECT_EQ(file.version(), 3u);
  EXPECT_EQ(file.alignment(), 32u);
  EXPECT_TRUE(file.tensors().empty());
  EXPECT_EQ(file.requireString("tokenizer.ggml.model"), "gpt2");
  EXPECT_EQ(file.requireString("tokenizer.ggml.pre"), "llama-bpe");
  const GgufArray *tokens = file.find("tokenizer.ggml.tokens")->array();
  ASSERT_NE(tokens, nullptr);
  EXPECT_EQ(tokens->elementType, GgufValueType::String);
  ASSERT_EQ(tokens->elements.size(), 128256u);
  EXPECT_EQ(*tokens->elements[0].string(), "!");
  EXPECT_EQ(*tokens->elements[128000].string(), "<|begin_of_text|>");
  const GgufArray *merges = file.find("tokenizer.ggml.merges")->array();
  ASSERT_NE(merges, nullptr);
  EXPECT_EQ(merges->elements.size(), 280147u);
  EXPECT_EQ(file.find("tokenizer.ggml.token_type")->array()->elements.size(), 128256u);
  EXPECT_EQ(file.requireUInt("tokenizer.ggml.bos_token_id"), 128000u);
  EXPECT_EQ(file.requireUInt("tokenizer.ggml.eos_token_id"), 128009u);
  EXPECT_EQ(file.getBool("tokenizer.ggml.add_bos_token"), true);
  EXPECT_NE(file.requireString("tokenizer.chat_template").find("<|start_header_id|>"),
            std::string::npos);
}

// Tests that the Llama-2 SentencePiece vocabulary loads with scores and token types, although
// the file ends before the padding that would start its (empty) data section.
TEST(GgufReader, LoadsSpmVocabulary) {
  GRETA_NEEDS_SHARED_TESTDATA();
  GgufFile file = GgufFile::open(kSpmVocab);
  EXPECT_EQ(file.requireString("tokenizer.ggml.model"), "llama");
  const GgufArray *tokens = file.find("tokenizer.ggml.tokens")->array();
  ASSERT_NE(tokens, nullptr);
  ASSERT_EQ(tokens->elements.size(), 32000u);
  EXPECT_EQ(*tokens->elements[0].string(), "<unk>");
  const GgufArray *scores = file.find("tokenizer.ggml.scores")->array();
  ASSERT_NE(scores, nullptr);
  EXPECT_EQ(scores->elementType, GgufValueType::Float32);
  EXPECT_EQ(scores->elements.size(), 32000u);
  EXPECT_EQ(file.requireUInt("tokenizer.ggml.unknown_token_id"), 0u);
  EXPECT_NEAR(file.requireFloat("llama.attention.layer_norm_rms_epsilon"), 1e-5, 1e-10);
  EXPECT_EQ(file.getBool("tokenizer.ggml.add_eos_token"), false);
}

// Tests that a typed look-up of the wrong type names the file, the key and the type found, and
// that a missing required key names the key.
TEST(GgufReader, TypedLookupsReportMismatches) {
  GRETA_NEEDS_SHARED_TESTDATA();
  GgufFile file = GgufFile::open(kSpmVocab);
  EXPECT_EQ(file.getString("no.such.key"), std::nullopt);
  expectError([&] { file.getString("llama.block_count"); },
              {kSpmVocab, "'llama.block_count'", "expected string", "found uint32"});
  expectError([&] { file.getUInt("tokenizer.ggml.tokens"); },
              {"'tokenizer.ggml.tokens'", "found array"});
  expectError([&] { file.getBool("general.name"); }, {"'general.name'", "expected bool"});
  expectError([&] { file.requireUInt("llama.expert_count"); },
              {kSpmVocab, "'llama.expert_count'", "missing"});
  // Integers are accepted where a float is asked for (e.g. a rope base stored as uint32).
  EXPECT_EQ(file.getFloat("llama.block_count"), 32.0);
}

// Tests that a negative signed value is not silently converted by getUInt.
TEST(GgufReader, NegativeValueIsNotUnsigned) {
  GgufWriter writer;
  writer.add("x", GgufValue::i32(-3));
  writer.add("y", GgufValue::i32(7));
  std::vector<uint8_t> bytes = writer.toBytes();
  GgufFile file = GgufFile::parse(bytes, "neg.gguf");
  expectError([&] { file.getUInt("x"); }, {"neg.gguf", "'x'", "-3", "negative"});
  EXPECT_EQ(file.getUInt("y"), 7u);
}

// Tests that tensor look-ups find tensors by name and that a missing one names file and tensor.
TEST(GgufReader, TensorLookup) {
  std::vector<uint8_t> bytes = test::sampleWriter().toBytes();
  GgufFile file = GgufFile::parse(bytes, "sample.gguf");
  const GgufTensorInfo *info = file.findTensor("q8_0.weight");
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->elements(), 128u);
  EXPECT_EQ(info->rows(), 2u);
  EXPECT_EQ(info->bytes, 2u * 2u * 34u); // 2 rows of two 32-element blocks
  EXPECT_EQ(info->data.data(), bytes.data() + file.dataOffset() + info->offset);
  EXPECT_EQ(file.findTensor("output.weight"), nullptr);
  expectError([&] { file.requireTensor("output.weight"); },
              {"sample.gguf", "'output.weight'", "not found"});
}

// Tests that version 2 files (same layout as v3 for little-endian data) are accepted.
TEST(GgufReader, AcceptsVersion2) {
  std::vector<uint8_t> bytes = test::sampleWriter().toBytes();
  test::patch<uint32_t>(bytes, 4, 2);
  GgufFile file = GgufFile::parse(bytes, "v2.gguf");
  EXPECT_EQ(file.version(), 2u);
  EXPECT_EQ(file.tensors().size(), test::sampleTensors().size());
}

// Tests that a missing file is an error naming the path.
TEST(GgufReader, MissingFileNamesPath) {
  expectError([] { GgufFile::open("/nonexistent/model.gguf"); },
              {"/nonexistent/model.gguf", "cannot open"});
}

// Tests that custom limits apply: a vocabulary over a tighter array limit is refused by name.
TEST(GgufReader, LimitsAreConfigurable) {
  GRETA_NEEDS_SHARED_TESTDATA();
  GgufLimits limits;
  limits.maxArrayElements = 1000;
  expectError([&] { GgufFile::open(kSpmVocab, limits); },
              {"'tokenizer.ggml.tokens'", "array length too large", "32000 vs limit 1000"});
}

} // namespace
} // namespace greta
