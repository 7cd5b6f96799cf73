//===- spm_tokenizer_test.cpp - Llama-2 SentencePiece vs llama.cpp vectors -===//
//
// ../shared/testdata/llama-spm holds llama.cpp's test vocabulary and vectors. As llama.cpp's
// tokenizer test reads them: the .inp file is split on "\n__ggml_vocab_test__\n" (the last
// input keeps whatever follows the last separator, if anything); line i of .out holds input i's
// ids separated by spaces (a leading space, an empty line for no ids). The ids were made with
// add_special_tokens = false and no special-token parsing: no BOS, but SentencePiece's prefix
// space ("▁") at the start of the text.
//
//===----------------------------------------------------------------------===//
#include "runtime/tokenizer/tokenizer.h"

#include "runtime/formats/gguf.h"
#include "test/unit/gguf_test_support.h"
#include "test/unit/tokenizer_test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

namespace greta {
namespace {

const std::string kBase = GRETA_SHARED_TESTDATA "/llama-spm/ggml-vocab-llama-spm.gguf";

using test::describeIds;
using test::TokenizerVector;

std::string readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << "cannot open " << path;
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::vector<TokenizerVector> readVectors() {
  const std::string inputs = readFile(kBase + ".inp");
  const std::string separator = "\n__ggml_vocab_test__\n";
  std::vector<std::string> texts;
  for (size_t pos = 0; pos < inputs.size();) {
    const size_t next = inputs.find(separator, pos);
    if (next == std::string::npos) {
      texts.push_back(inputs.substr(pos));
      break;
    }
    texts.push_back(inputs.substr(pos, next - pos));
    pos = next + separator.size();
  }
  std::istringstream outputs(readFile(kBase + ".out"));
  std::vector<TokenizerVector> vectors;
  std::string line;
  for (size_t i = 0; std::getline(outputs, line); ++i) {
    TokenizerVector vector;
    vector.text = i < texts.size() ? texts[i] : "";
    std::istringstream ids(line);
    for (int32_t id; ids >> id;)
      vector.ids.push_back(id);
    vectors.push_back(std::move(vector));
  }
  EXPECT_EQ(texts.size(), vectors.size()) << "inputs and output lines must pair up";
  return vectors;
}

struct Llama2Vectors {
  static std::unique_ptr<Tokenizer> loadTokenizer() {
    return Tokenizer::fromGguf(GgufFile::open(kBase));
  }
  static std::vector<TokenizerVector> loadVectors() { return readVectors(); }
};
using Llama2Tokenizer = test::TokenizerVectorSuite<Llama2Vectors>;

// Tests that every llama.cpp vector encodes (no BOS, prefix space) to exactly its ids.
TEST_F(Llama2Tokenizer, EncodesEveryVectorExactly) {
  ASSERT_GE(vectors().size(), 40u);
  expectEveryVectorEncodes({});
}

// Tests that decode removes exactly the prefix space encode added, so decode(encode(x)) == x,
// and that without removal the text comes back with one space in front.
TEST_F(Llama2Tokenizer, DecodeInvertsEncodeOnEveryVector) {
  for (const TokenizerVector &vector : vectors()) {
    EXPECT_EQ(tok().decode(vector.ids), vector.text) << "ids " << describeIds(vector.ids);
    if (!vector.text.empty()) {
      EXPECT_EQ(tok().decode(vector.ids, {.removeSpacePrefix = false}), " " + vector.text);
    }
  }
}

// Tests the metadata accessors against the Llama-2 vocabulary.
TEST_F(Llama2Tokenizer, ReportsSpecialIdsAndModel) {
  EXPECT_EQ(tok().model(), "llama");
  EXPECT_EQ(tok().vocabSize(), 32000);
  EXPECT_EQ(tok().bos(), 1);
  EXPECT_EQ(tok().eos(), 2);
  EXPECT_EQ(tok().eot(), -1);
  EXPECT_TRUE(tok().addsBosByDefault());
  EXPECT_EQ(tok().findSpecial("<s>"), 1);
  EXPECT_EQ(tok().findSpecial("</s>"), 2);
  EXPECT_TRUE(tok().isControl(1));
  EXPECT_EQ(tok().tokenType(13), TokenType::Byte);
  EXPECT_EQ(tok().tokenText(13), "\n");
  EXPECT_EQ(tok().tokenText(15043), " Hello");
}

// Tests that BOS and parsed control tokens restart the prefix space, symmetrically in decode.
TEST_F(Llama2Tokenizer, SpecialTokensRestartThePrefixSpace) {
  const std::vector<int32_t> withBos = tok().encode("Hello world", {.addBos = true});
  EXPECT_EQ(withBos, (std::vector<int32_t>{1, 15043, 3186}));
  EXPECT_EQ(tok().decode(withBos), "<s>Hello world");
  EXPECT_EQ(tok().decode(withBos, {.renderControl = false}), "Hello world");

  const std::string text = "Hello</s>Hello <s>";
  const std::vector<int32_t> ids = tok().encode(text, {.parseSpecial = true});
  EXPECT_EQ(ids, (std::vector<int32_t>{15043, 2, 15043, 29871, 1})) << describeIds(ids);
  EXPECT_EQ(tok().decode(ids), text);
  // Without parseSpecial, "</s>" is ordinary text.
  const std::vector<int32_t> plain = tok().encode(text);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), 2), 0) << describeIds(plain);
  EXPECT_EQ(tok().decode(plain), text);
}

// Tests that characters without a piece fall back to <0xXX> tokens, and that ill-formed UTF-8
// bytes do too, so any byte string round-trips.
TEST_F(Llama2Tokenizer, ByteFallbackCoversAnyBytes) {
  // U+1F999 (🦙) has no piece: its four bytes F0 9F A6 99 are ids 3 + byte.
  EXPECT_EQ(tok().encode("\xF0\x9F\xA6\x99"),
            (std::vector<int32_t>{29871, 3 + 0xF0, 3 + 0x9F, 3 + 0xA6, 3 + 0x99}));
  EXPECT_EQ(tok().encode("\xff"), (std::vector<int32_t>{29871, 3 + 0xFF}));
  const std::string inputs[] = {"abc\x80xyz", "caf\xc3", " \xed\xa0\x80 x", "\xc0\xaf",
                                std::string("nul\0byte", 8)};
  for (const std::string &input : inputs)
    EXPECT_EQ(tok().decode(tok().encode(input)), input);
}

// Tests the one SentencePiece round-trip exception: a literal "▁" in the input is a space.
TEST_F(Llama2Tokenizer, LiteralSpaceSymbolDecodesAsSpace) {
  EXPECT_EQ(tok().encode("a\u2581b"), tok().encode("a b"));
  EXPECT_EQ(tok().decode(tok().encode("a\u2581b")), "a b");
}

// Tests that a long prompt (tens of thousands of tokens) encodes well under a second.
TEST_F(Llama2Tokenizer, LongPromptIsFast) {
  std::vector<std::string> samples;
  for (const TokenizerVector &vector : vectors())
    samples.push_back(vector.text);
  test::expectLongPromptIsFast(tok(), samples);
}

} // namespace
} // namespace greta
