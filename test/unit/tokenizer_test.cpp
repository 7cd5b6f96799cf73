//===- tokenizer_test.cpp - Llama-3 byte-level BPE vs reference vectors ----===//
//
// ../shared/testdata/llama3-tokenizer/vectors.json holds 55 strings and their ids without BOS,
// from an implementation that reproduces llama.cpp's llama-bpe vectors. One of them contains
// "<|begin_of_text|>" and expects its control id, so the vectors are encoded with parseSpecial.
//
//===----------------------------------------------------------------------===//
#include "runtime/tokenizer/tokenizer.h"

#include "runtime/formats/gguf.h"
#include "test/unit/gguf_test_support.h"
#include "test/unit/tokenizer_test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

namespace greta {
namespace {

const std::string kVocabPath = GRETA_SHARED_TESTDATA "/llama3-tokenizer/llama3-vocab.gguf";
const std::string kVectorsPath = GRETA_SHARED_TESTDATA "/llama3-tokenizer/vectors.json";
constexpr EncodeOptions kVectorOptions{.addBos = false, .parseSpecial = true};

using test::describeIds;
using test::TokenizerVector;

struct Llama3Vectors {
  static std::unique_ptr<Tokenizer> loadTokenizer() {
    return Tokenizer::fromGguf(GgufFile::open(kVocabPath));
  }
  static std::vector<TokenizerVector> loadVectors() {
    std::ifstream in(kVectorsPath);
    EXPECT_TRUE(in) << "cannot open " << kVectorsPath;
    std::vector<TokenizerVector> vectors;
    if (in)
      for (const nlohmann::json &entry : nlohmann::json::parse(in))
        vectors.push_back({entry.at("text").get<std::string>(),
                           entry.at("ids").get<std::vector<int32_t>>()});
    return vectors;
  }
};
using Llama3Tokenizer = test::TokenizerVectorSuite<Llama3Vectors>;

// Tests that every reference vector encodes to exactly its ids, reporting each mismatch.
TEST_F(Llama3Tokenizer, EncodesEveryVectorExactly) {
  ASSERT_EQ(vectors().size(), 55u);
  expectEveryVectorEncodes(kVectorOptions);
}

// Tests that decoding the ids of every vector gives back its text byte for byte.
TEST_F(Llama3Tokenizer, DecodeInvertsEncodeOnEveryVector) {
  for (const TokenizerVector &vector : vectors()) {
    EXPECT_EQ(tok().decode(vector.ids), vector.text) << "ids " << describeIds(vector.ids);
    EXPECT_EQ(tok().decode(tok().encode(vector.text, kVectorOptions)), vector.text);
    EXPECT_EQ(tok().decode(tok().encode(vector.text)), vector.text);
  }
}

// Tests that control token text stays plain text unless parseSpecial is set.
TEST_F(Llama3Tokenizer, ControlTextNeedsParseSpecial) {
  const std::string text = "<|begin_of_text|> is a special token string";
  const std::vector<int32_t> plain = tok().encode(text);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), 128000), 0) << describeIds(plain);
  EXPECT_GT(plain.size(), 6u);
  EXPECT_EQ(tok().decode(plain), text);

  const std::vector<int32_t> chat = tok().encode(
      "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>", {.parseSpecial = true});
  EXPECT_EQ(chat, (std::vector<int32_t>{128006, 882, 128007, 271, 13347, 128009}));
}

// Tests that the vectors without special text encode the same with and without parseSpecial.
TEST_F(Llama3Tokenizer, ParseSpecialChangesNothingForPlainText) {
  for (const TokenizerVector &vector : vectors()) {
    if (vector.text.find("<|") == std::string::npos) {
      EXPECT_EQ(tok().encode(vector.text), vector.ids) << vector.text;
    }
  }
}

// Tests the metadata accessors against the Llama-3 Instruct vocabulary.
TEST_F(Llama3Tokenizer, ReportsSpecialIdsAndModel) {
  EXPECT_EQ(tok().model(), "gpt2");
  EXPECT_EQ(tok().vocabSize(), 128256);
  EXPECT_EQ(tok().bos(), 128000);
  EXPECT_EQ(tok().eos(), 128009);
  EXPECT_EQ(tok().eot(), 128009);
  EXPECT_TRUE(tok().addsBosByDefault());
  EXPECT_EQ(tok().findSpecial("<|start_header_id|>"), 128006);
  EXPECT_EQ(tok().findSpecial("<|end_header_id|>"), 128007);
  EXPECT_EQ(tok().findSpecial("Hello"), std::nullopt);
  EXPECT_TRUE(tok().isControl(128000));
  EXPECT_FALSE(tok().isControl(9906));
  EXPECT_EQ(tok().tokenType(9906), TokenType::Normal);
  EXPECT_EQ(tok().tokenText(9906), "Hello");
  EXPECT_EQ(tok().tokenText(220), " ");
  EXPECT_EQ(tok().tokenText(198), "\n");
  EXPECT_EQ(tok().tokenText(128009), "<|eot_id|>");
}

// Tests that addBos puts BOS first and that control tokens can be left out of decoded text.
TEST_F(Llama3Tokenizer, BosAndControlRendering) {
  const std::vector<int32_t> ids = tok().encode("Hello world", {.addBos = true});
  EXPECT_EQ(ids, (std::vector<int32_t>{128000, 9906, 1917}));
  EXPECT_EQ(tok().decode(ids), "<|begin_of_text|>Hello world");
  EXPECT_EQ(tok().decode(ids, {.renderControl = false}), "Hello world");
}

// Tests that out-of-range ids are an Error naming the id and the vocabulary size.
TEST_F(Llama3Tokenizer, OutOfRangeIdsAreErrors) {
  const std::vector<int32_t> tooLarge = {9906, 128256};
  test::expectError([&] { tok().decode(tooLarge); }, {"ids[1] = 128256", "vocab size 128256"});
  const std::vector<int32_t> negative = {-1};
  test::expectError([&] { tok().decode(negative); }, {"ids[0] = -1", "vocab size 128256"});
  test::expectError([&] { tok().tokenText(200000); }, {"200000", "vocab size 128256"});
  test::expectError([&] { tok().isControl(-5); }, {"-5", "vocab size 128256"});
}

// Tests that ill-formed UTF-8 encodes each bad byte as its byte token and round-trips exactly.
TEST_F(Llama3Tokenizer, IllFormedUtf8IsKeptAsBytes) {
  const std::string inputs[] = {
      "\xff",                     // never valid
      "abc\x80xyz",               // stray continuation byte
      "caf\xc3",                  // truncated sequence at the end
      "\xed\xa0\x80 surrogate",   // encoded surrogate
      "\xc0\xaf overlong",        // overlong '/'
      "  \xfe  \n\xf8\xf9 end",   // bad bytes inside whitespace runs
      std::string("nul\0byte", 8) // NUL is valid UTF-8 and must not end the text
  };
  for (const std::string &input : inputs) {
    const std::vector<int32_t> ids = tok().encode(input);
    EXPECT_EQ(tok().decode(ids), input) << describeIds(ids);
  }
  // 0xFF is spelled 'ÿ' in the byte alphabet; its token stands alone.
  EXPECT_EQ(tok().encode("\xff"), tok().encode("\xff", {.parseSpecial = true}));
  EXPECT_EQ(tok().encode("\xff").size(), 1u);
}

// Tests that a long prompt (tens of thousands of tokens) encodes well under a second.
TEST_F(Llama3Tokenizer, LongPromptIsFast) {
  std::vector<std::string> samples;
  for (const TokenizerVector &vector : vectors())
    samples.push_back(vector.text);
  test::expectLongPromptIsFast(tok(), samples);
}

} // namespace
} // namespace greta
