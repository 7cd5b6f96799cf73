//===- tokenizer_test_support.h - Helpers shared by the tokenizer tests ----===//
#pragma once

#include "runtime/tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace greta::test {

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
