//===- tokenizer_synthetic_test.cpp - Small hand-made vocabularies ---------===//
//
// GGUF images written in memory with a few tokens each: every metadata check's error message,
// and merge-order rules (BPE rank and leftmost ties, ignore_merges; SentencePiece score order,
// Unused pieces split back, unknown fallback) that real vocabularies only show by accident.
//
//===----------------------------------------------------------------------===//
#include "runtime/tokenizer/tokenizer.h"

#include "runtime/formats/gguf.h"
#include "runtime/tokenizer/unicode.h"
#include "test/unit/gguf_test_support.h"

#include <gtest/gtest.h>

namespace greta {
namespace {

using Ids = std::vector<int32_t>;

/// A tokenizer described field by field; write() turns it into GGUF metadata.
struct VocabSpec {
  std::optional<std::string> model;
  std::optional<std::string> pre;
  std::vector<std::string> tokens;
  std::vector<int32_t> types;
  std::vector<float> scores;
  std::vector<std::string> merges;
  std::vector<std::pair<std::string, GgufValue>> extra;

  /// Loads the tokenizer from an in-memory image (the Tokenizer keeps no reference to it).
  std::unique_ptr<Tokenizer> load() const {
    GgufWriter writer;
    if (model)
      writer.add("tokenizer.ggml.model", GgufValue::str(*model));
    if (pre)
      writer.add("tokenizer.ggml.pre", GgufValue::str(*pre));
    if (!tokens.empty())
      writer.add("tokenizer.ggml.tokens", GgufValue::strings(tokens));
    if (!types.empty())
      writer.add("tokenizer.ggml.token_type", GgufValue::i32s(types));
    if (!scores.empty())
      writer.add("tokenizer.ggml.scores", GgufValue::f32s(scores));
    if (!merges.empty())
      writer.add("tokenizer.ggml.merges", GgufValue::strings(merges));
    for (const auto &[key, value] : extra)
      writer.add(key, value);
    const std::vector<uint8_t> bytes = writer.toBytes();
    return Tokenizer::fromGguf(GgufFile::parse(bytes, "vocab.gguf"));
  }
  int32_t id(std::string_view text) const {
    auto it = std::find(tokens.begin(), tokens.end(), text);
    EXPECT_NE(it, tokens.end()) << text;
    return static_cast<int32_t>(it - tokens.begin());
  }
};

/// A byte-level BPE vocabulary: ids 0-255 are the bytes (in byte order), then `words`.
VocabSpec byteLevelSpec(std::vector<std::string> words, std::vector<std::string> merges) {
  VocabSpec spec;
  spec.model = "gpt2";
  spec.pre = "llama-bpe";
  for (int byte = 0; byte < 256; ++byte)
    spec.tokens.push_back(byteLevelEncode(std::string(1, static_cast<char>(byte))));
  for (std::string &word : words)
    spec.tokens.push_back(byteLevelEncode(word));
  spec.types.assign(spec.tokens.size(), static_cast<int32_t>(TokenType::Normal));
  spec.tokens.push_back("<|eot_id|>");
  spec.types.push_back(static_cast<int32_t>(TokenType::Control));
  spec.merges = std::move(merges);
  return spec;
}

struct SpmPiece {
  std::string text;
  float score;
  TokenType type = TokenType::Normal;
};

/// A SentencePiece vocabulary: <unk> <s> </s>, then `pieces`; no byte tokens.
VocabSpec spmSpec(const std::vector<SpmPiece> &pieces) {
  VocabSpec spec;
  spec.model = "llama";
  auto add = [&](std::string text, float score, TokenType type) {
    spec.tokens.push_back(std::move(text));
    spec.scores.push_back(score);
    spec.types.push_back(static_cast<int32_t>(type));
  };
  add("<unk>", 0, TokenType::Unknown);
  add("<s>", 0, TokenType::Control);
  add("</s>", 0, TokenType::Control);
  for (const SpmPiece &piece : pieces)
    add(piece.text, piece.score, piece.type);
  spec.extra.emplace_back("tokenizer.ggml.unknown_token_id", GgufValue::u32(0));
  spec.extra.emplace_back("tokenizer.ggml.bos_token_id", GgufValue::u32(1));
  return spec;
}

// Tests that the lowest-ranked merge applies first, whatever its position.
TEST(SyntheticBpe, MergesByRank) {
  const VocabSpec bcFirst = byteLevelSpec({"ab", "bc"}, {"b c", "a b"});
  EXPECT_EQ(bcFirst.load()->encode("abc"), (Ids{'a', bcFirst.id("bc")}));
  const VocabSpec abFirst = byteLevelSpec({"ab", "bc"}, {"a b", "b c"});
  EXPECT_EQ(abFirst.load()->encode("abc"), (Ids{abFirst.id("ab"), 'c'}));
}

// Tests that equal pairs merge leftmost first and merged tokens merge again.
TEST(SyntheticBpe, LeftmostFirstAndChains) {
  const VocabSpec spec = byteLevelSpec({"aa", "aaaa"}, {"a a", "aa aa"});
  const std::unique_ptr<Tokenizer> tok = spec.load();
  EXPECT_EQ(tok->encode("aaa"), (Ids{spec.id("aa"), 'a'}));
  EXPECT_EQ(tok->encode("aaaaa"), (Ids{spec.id("aaaa"), 'a'}));
}

// Tests ignore_merges: a piece that is a token is taken whole even if no merge path reaches it.
TEST(SyntheticBpe, WholePieceTokenSkipsMerges) {
  const VocabSpec spec = byteLevelSpec({"xyz", "xy"}, {"x y"});
  const std::unique_ptr<Tokenizer> tok = spec.load();
  EXPECT_EQ(tok->encode("xyz"), (Ids{spec.id("xyz")}));
  EXPECT_EQ(tok->encode("xyzz"), (Ids{spec.id("xy"), 'z', 'z'}));
  EXPECT_EQ(tok->encode("xyz<|eot_id|>", {.parseSpecial = true}),
            (Ids{spec.id("xyz"), spec.id("<|eot_id|>")}));
  EXPECT_EQ(tok->eot(), spec.id("<|eot_id|>"));
}

// Tests that the model and pre-tokenizer are checked, naming the key, value and what works.
TEST(SyntheticMetadata, UnsupportedModelOrPre) {
  VocabSpec spec = byteLevelSpec({}, {"a b"});
  spec.model = "bert";
  test::expectError([&] { spec.load(); },
                    {"vocab.gguf", "tokenizer.ggml.model = 'bert'", "supported: gpt2, llama"});
  spec.model.reset();
  test::expectError([&] { spec.load(); }, {"vocab.gguf", "tokenizer.ggml.model"});
  spec.model = "gpt2";
  spec.pre = "qwen2";
  test::expectError([&] { spec.load(); },
                    {"tokenizer.ggml.pre = 'qwen2'", "supported: llama-bpe"});
  spec.pre.reset();
  test::expectError([&] { spec.load(); }, {"tokenizer.ggml.pre is missing", "llama-bpe"});

  VocabSpec spm = spmSpec({{"a", -1}});
  spm.pre = "llama-bpe";
  test::expectError([&] { spm.load(); },
                    {"tokenizer.ggml.pre = 'llama-bpe'", "model = llama", "supported: default"});
}

// Tests that per-token arrays must match the token count and hold valid values.
TEST(SyntheticMetadata, PerTokenArrays) {
  VocabSpec spec = spmSpec({{"a", -1}, {"b", -2}});
  spec.types.pop_back();
  test::expectError([&] { spec.load(); },
                    {"vocab.gguf", "tokenizer.ggml.token_type has 4 entries",
                     "tokenizer.ggml.tokens has 5"});
  spec = spmSpec({{"a", -1}, {"b", -2}});
  spec.scores.push_back(0);
  test::expectError([&] { spec.load(); }, {"tokenizer.ggml.scores has 6 entries"});
  spec = spmSpec({{"a", -1}});
  spec.types[3] = 9;
  test::expectError([&] { spec.load(); }, {"tokenizer.ggml.token_type[3] = 9", "0..6"});
  spec = spmSpec({{"a", -1}});
  spec.scores.clear();
  test::expectError([&] { spec.load(); }, {"tokenizer.ggml.scores is missing"});
}

// Tests that tokens must be a non-empty array of strings.
TEST(SyntheticMetadata, TokensArray) {
  VocabSpec spec = spmSpec({});
  spec.tokens.clear();
  spec.types.clear();
  spec.scores.clear();
  spec.extra.clear();
  test::expectError([&] { spec.load(); }, {"tokenizer.ggml.tokens is missing"});
  spec.extra.emplace_back("tokenizer.ggml.tokens", GgufValue::i32s({1, 2}));
  test::expectError([&] { spec.load(); },
                    {"tokenizer.ggml.tokens is an array of", "expected an array of strings"});
}

// Tests that special-token ids must lie inside the vocabulary.
TEST(SyntheticMetadata, SpecialIdsInRange) {
  VocabSpec spec = spmSpec({{"a", -1}});
  spec.extra.emplace_back("tokenizer.ggml.eos_token_id", GgufValue::u32(999));
  test::expectError([&] { spec.load(); },
                    {"tokenizer.ggml.eos_token_id = 999", "out of range (vocab size 4)"});
  spec = spmSpec({{"a", -1}});
  spec.extra.emplace_back("tokenizer.ggml.padding_token_id", GgufValue::str("zero"));
  test::expectError([&] { spec.load(); }, {"tokenizer.ggml.padding_token_id has type"});
  // Without a BOS id, asking for BOS is an error at encode time.
  spec = spmSpec({{"a", -1}});
  spec.extra.erase(spec.extra.begin() + 1);
  const std::unique_ptr<Tokenizer> tok = spec.load();
  EXPECT_EQ(tok->bos(), -1);
  test::expectError([&] { tok->encode("a", {.addBos = true}); },
                    {"tokenizer.ggml.bos_token_id is not set"});
}

// Tests that malformed merges are errors naming the index, the merge and what is wrong.
TEST(SyntheticMetadata, MalformedMerges) {
  test::expectError([] { byteLevelSpec({"ab"}, {"a b", "ab"}).load(); },
                    {"tokenizer.ggml.merges[1] = 'ab'", "two tokens separated by one space"});
  test::expectError([] { byteLevelSpec({"ab"}, {"a  b"}).load(); },
                    {"tokenizer.ggml.merges[0] = 'a  b'"});
  test::expectError([] { byteLevelSpec({}, {"a zz"}).load(); },
                    {"merges[0] = 'a zz'", "'zz' is not in tokenizer.ggml.tokens"});
  test::expectError([] { byteLevelSpec({}, {"c a"}).load(); },
                    {"merges[0] = 'c a'", "merged token 'ca' is not in tokenizer.ggml.tokens"});
  VocabSpec noMerges = byteLevelSpec({}, {});
  test::expectError([&] { noMerges.load(); }, {"tokenizer.ggml.merges is missing or empty"});
  VocabSpec missingByte = byteLevelSpec({"aa"}, {"a a"});
  missingByte.tokens[0x41] = "A2"; // no token spells byte 'A' any more
  test::expectError([&] { missingByte.load(); }, {"no token 'A' for byte 0x41"});
}

// Tests that the highest score merges first, leftmost on ties.
TEST(SyntheticSpm, MergesByScore) {
  const VocabSpec spec = spmSpec({{"\u2581", -1}, {"a", -2}, {"b", -3}, {"c", -4},
                                  {"ab", -6}, {"bc", -5}, {"\u2581a", -9}});
  const std::unique_ptr<Tokenizer> tok = spec.load();
  // "▁abc": bc (-5) beats ab (-6) and ▁a (-9); then ▁a + bc is no piece.
  EXPECT_EQ(tok->encode("abc"), (Ids{spec.id("\u2581a"), spec.id("bc")}));
  const VocabSpec tie = spmSpec({{"\u2581", -1}, {"a", -2}, {"aa", -5}});
  EXPECT_EQ(tie.load()->encode("aaa"), (Ids{tie.id("\u2581"), tie.id("aa"), tie.id("a")}));
}

// Tests that merging passes through Unused pieces and splits them back when they remain.
TEST(SyntheticSpm, UnusedPiecesAreSplitBack) {
  const VocabSpec spec = spmSpec({{"\u2581", -1}, {"x", -2}, {"y", -3}, {"z", -4},
                                  {"xy", -1, TokenType::Unused}, {"xyz", -7}});
  const std::unique_ptr<Tokenizer> tok = spec.load();
  EXPECT_EQ(tok->encode("xyz"), (Ids{spec.id("\u2581"), spec.id("xyz")}));
  EXPECT_EQ(tok->encode("xy"), (Ids{spec.id("\u2581"), spec.id("x"), spec.id("y")}));
}

// Tests that a piece spanning a word start ("a▁b") still merges: such a vocabulary turns off
// the per-word split that vocabularies like Llama-2's allow.
TEST(SyntheticSpm, PieceAcrossWordStart) {
  const VocabSpec spec = spmSpec({{"\u2581", -1}, {"x", -2}, {"a", -2}, {"b", -3},
                                  {"a\u2581", -5}, {"a\u2581b", -6}});
  EXPECT_EQ(spec.load()->encode("xa b"),
            (Ids{spec.id("\u2581"), spec.id("x"), spec.id("a\u2581b")}));
}

// Tests that without byte tokens an unknown character is one <unk>, and without <unk> an Error.
TEST(SyntheticSpm, UnknownCharacters) {
  VocabSpec spec = spmSpec({{"\u2581", -1}, {"a", -2}});
  EXPECT_EQ(spec.load()->encode("a\u00e9a"), (Ids{3, 4, 0, 4}));
  spec.extra.erase(spec.extra.begin());
  test::expectError([&] { spec.load()->encode("\u00e9"); },
                    {"vocab.gguf", "bytes C3 A9", "tokenizer.ggml.unknown_token_id is not set"});
}

// Tests that add_space_prefix = false turns off the prefixed space in encode and decode.
TEST(SyntheticSpm, SpacePrefixCanBeOff) {
  VocabSpec spec = spmSpec({{"\u2581", -1}, {"a", -2}, {"\u2581a", -3}});
  spec.extra.emplace_back("tokenizer.ggml.add_space_prefix", GgufValue::makeBool(false));
  const std::unique_ptr<Tokenizer> tok = spec.load();
  EXPECT_EQ(tok->encode("a a"), (Ids{spec.id("a"), spec.id("\u2581a")}));
  EXPECT_EQ(tok->decode(tok->encode(" a")), " a");
}

} // namespace
} // namespace greta
