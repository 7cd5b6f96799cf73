//===- tokenizer_unicode_test.cpp - UTF-8, byte-level alphabet, regex split ===//
#include "runtime/tokenizer/pre_tokenizers.h"
#include "runtime/tokenizer/regex_splitter.h"
#include "runtime/tokenizer/unicode.h"

#include "test/unit/gguf_test_support.h"

#include <gtest/gtest.h>

#include <set>

namespace greta {
namespace {

std::vector<std::string> splitAll(const RegexSplitter &splitter, std::string_view text) {
  std::vector<std::string_view> views;
  splitter.split(text, views);
  return {views.begin(), views.end()};
}

// Tests that well-formed sequences of each length are accepted and decoded.
TEST(Utf8, AcceptsWellFormedSequences) {
  EXPECT_EQ(utf8SequenceLength("a"), 1u);
  EXPECT_EQ(utf8SequenceLength("\xC3\xA9x"), 2u); // é
  EXPECT_EQ(utf8SequenceLength("\xE2\x96\x81"), 3u); // ▁
  EXPECT_EQ(utf8SequenceLength("\xF0\x9F\xA6\x99"), 4u); // 🦙
  EXPECT_EQ(utf8SequenceLength(std::string_view("\0", 1)), 1u);
  EXPECT_EQ(decodeUtf8("\xC3\xA9"), U'é');
  EXPECT_EQ(decodeUtf8("\xF4\x8F\xBF\xBF"), U'\U0010FFFF');
  std::string encoded;
  for (char32_t cp : {U'a', U'é', U'▁', U'🦙', U'\U0010FFFF'})
    appendUtf8(encoded, cp);
  EXPECT_EQ(encoded, "a\xC3\xA9\xE2\x96\x81\xF0\x9F\xA6\x99\xF4\x8F\xBF\xBF");
}

// Tests that each kind of ill-formed sequence is rejected rather than decoded.
TEST(Utf8, RejectsIllFormedSequences) {
  EXPECT_EQ(utf8SequenceLength(""), 0u);
  EXPECT_EQ(utf8SequenceLength("\x80"), 0u);             // stray continuation
  EXPECT_EQ(utf8SequenceLength("\xC3"), 0u);             // truncated
  EXPECT_EQ(utf8SequenceLength("\xE2\x96"), 0u);         // truncated
  EXPECT_EQ(utf8SequenceLength("\xC0\xAF"), 0u);         // overlong '/'
  EXPECT_EQ(utf8SequenceLength("\xE0\x80\xAF"), 0u);     // overlong
  EXPECT_EQ(utf8SequenceLength("\xED\xA0\x80"), 0u);     // surrogate U+D800
  EXPECT_EQ(utf8SequenceLength("\xF4\x90\x80\x80"), 0u); // U+110000
  EXPECT_EQ(utf8SequenceLength("\xF8\x88\x80\x80"), 0u); // 5-byte lead
  EXPECT_EQ(utf8SequenceLength("\xC3\x28"), 0u);         // bad continuation
}

// Tests that the byte-level alphabet is a bijection with GPT-2's well-known spellings.
TEST(ByteLevel, AlphabetIsABijection) {
  std::set<char32_t> symbols;
  for (int byte = 0; byte < 256; ++byte) {
    const char32_t symbol = byteLevelSymbol(static_cast<uint8_t>(byte));
    symbols.insert(symbol);
    EXPECT_EQ(byteLevelByte(symbol), byte);
  }
  EXPECT_EQ(symbols.size(), 256u);
  EXPECT_EQ(byteLevelSymbol('A'), U'A');
  EXPECT_EQ(byteLevelSymbol(' '), U'Ġ');
  EXPECT_EQ(byteLevelSymbol('\n'), U'Ċ');
  EXPECT_EQ(byteLevelSymbol(0), U'Ā');
  EXPECT_EQ(byteLevelByte(U'€'), std::nullopt);
  EXPECT_EQ(byteLevelEncode(" hé"), "Ġh\xC3\x83\xC2\xA9");
}

const std::string_view kLlama3Pattern = findPreTokenizer("llama-bpe")->splitPattern;

// Tests the Llama-3 split on words, numbers, contractions and whitespace runs.
TEST(RegexSplitter, SplitsLikeLlama3) {
  const RegexSplitter splitter(kLlama3Pattern);
  EXPECT_EQ(splitAll(splitter, "Hello world"), (std::vector<std::string>{"Hello", " world"}));
  EXPECT_EQ(splitAll(splitter, "I'M 12345!!\n\n  x  "),
            (std::vector<std::string>{"I", "'M", " ", "123", "45", "!!\n\n", " ", " x", "  "}));
  // NBSP is whitespace; U+180E is not White_Space (PCRE2's own UCP \s would say it is).
  EXPECT_EQ(splitAll(splitter, "a\u00A0\u00A0b"),
            (std::vector<std::string>{"a", "\u00A0", "\u00A0b"}));
  EXPECT_EQ(splitAll(splitter, "a \u180E"), (std::vector<std::string>{"a", " \u180E"}));
}

// Tests that ill-formed bytes become pieces of their own and everything concatenates back.
TEST(RegexSplitter, IsolatesIllFormedBytes) {
  const RegexSplitter splitter(kLlama3Pattern);
  EXPECT_EQ(splitAll(splitter, "ab\xFF" "cd"), (std::vector<std::string>{"ab", "\xFF", "cd"}));
  EXPECT_EQ(splitAll(splitter, "\xC3"), (std::vector<std::string>{"\xC3"}));
  const std::string text = "  x\x80\x80 y \xE2\x96 end\n";
  std::string joined;
  for (const std::string &piece : splitAll(splitter, text))
    joined += piece;
  EXPECT_EQ(joined, text);
}

// Tests that text between matches is kept as pieces (Hugging Face "Isolated" behaviour).
TEST(RegexSplitter, KeepsUnmatchedStretches) {
  const RegexSplitter digits(R"(\d+)");
  EXPECT_EQ(splitAll(digits, "ab12cd345"),
            (std::vector<std::string>{"ab", "12", "cd", "345"}));
  const RegexSplitter empty("x*");
  EXPECT_EQ(splitAll(empty, "abxxc"), (std::vector<std::string>{"ab", "xx", "c"}));
}

// Tests that a bad pattern is an Error quoting PCRE2's message, and \S in a class is refused.
TEST(RegexSplitter, BadPatternsAreErrors) {
  test::expectError([] { RegexSplitter bad("(abc"); }, {"split pattern '(abc'", "offset"});
  test::expectError([] { RegexSplitter bad(R"([\S])"); }, {"\\S inside a character class"});
}

} // namespace
} // namespace greta
