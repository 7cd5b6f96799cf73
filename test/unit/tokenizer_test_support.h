//===- tokenizer_test_support.h - Helpers shared by the tokenizer tests ----===//
#pragma once

#include "runtime/tokenizer/tokenizer.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace greta::test {

/// A reference vector: a text and the ids it must encode to.
struct TokenizerVector {
  std::string text;
  std::vector<int32_t> ids;
};

/// Ids as a JSON array, for failure messages.
inline std::string describeIds(std::span<const int32_t> ids) { return nlohmann::json(ids).dump(); }

/// A suite that loads a tokenizer and its reference vectors once. `Source` provides
/// `static std::unique_ptr<Tokenizer> loadTokenizer()` and
/// `static std::vector<TokenizerVector> loadVectors()`.
template <typename Source> class TokenizerVectorSuite : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    tokenizer_ = Source::loadTokenizer().release();
    vectors_ = new std::vector<TokenizerVector>(Source::loadVectors());
  }
  static void TearDownTestSuite() {
    delete tokenizer_;
    delete vectors_;
  }
  static const Tokenizer &tok() { return *tokenizer_; }
  static const std::vector<TokenizerVector> &vectors() { return *vectors_; }

  /// Every vector encodes to exactly its ids with `options`; each mismatch is reported.
  static void expectEveryVectorEncodes(const EncodeOptions &options) {
    size_t passed = 0;
    for (const TokenizerVector &vector : vectors()) {
      const std::vector<int32_t> ids = tok().encode(vector.text, options);
      if (ids == vector.ids)
        ++passed;
      else
        ADD_FAILURE() << "input " << nlohmann::json(vector.text).dump() << "\n  expected "
                      << describeIds(vector.ids) << "\n  got      " << describeIds(ids);
    }
    EXPECT_EQ(passed, vectors().size()) << passed << " of " << vectors().size() << " pass";
  }

private:
  static inline Tokenizer *tokenizer_ = nullptr;
  static inline std::vector<TokenizerVector> *vectors_ = nullptr;
};

// Optimised builds must meet the target (thousands of tokens well under a second); Debug and
// sanitizer builds run about ten times slower, so there the bound only catches quadratic work.
#if defined(NDEBUG) && !defined(__SANITIZE_ADDRESS__)
constexpr double kLongPromptSeconds = 1.0;
#else
constexpr double kLongPromptSeconds = 10.0;
#endif

/// Encodes a ~240 KB prompt made of `samples` repeated, a 20,000-space run and a 20,000-letter
/// word, within kLongPromptSeconds; decoding must give the prompt back.
inline void expectLongPromptIsFast(const Tokenizer &tokenizer,
                                   const std::vector<std::string> &samples) {
  std::string text;
  while (text.size() < 200'000)
    for (const std::string &sample : samples)
      text += sample + "\n";
  text += std::string(20'000, ' ') + "x" + std::string(20'000, 'a');
  const auto start = std::chrono::steady_clock::now();
  const std::vector<int32_t> ids = tokenizer.encode(text);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_GT(ids.size(), 40'000u);
  EXPECT_LT(seconds, kLongPromptSeconds) << ids.size() << " tokens took " << seconds << " s";
  EXPECT_EQ(tokenizer.decode(ids), text);
}

} // namespace greta::test
