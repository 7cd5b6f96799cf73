//===- sampler_test.cpp - Token sampling -----------------------------------===//
#include "runtime/sampling/sampler.h"

#include "test/unit/gguf_test_support.h"

#include <gtest/gtest.h>

#include <cmath>

namespace greta::sampling {
namespace {

const std::vector<float> kLogits = {1.0f, 3.0f, 2.5f, -1.0f, 3.0f, 0.0f};

std::vector<int32_t> draw(const SamplingParams &params, int count,
                          const std::vector<float> &logits = kLogits) {
  Sampler sampler(params);
  std::vector<int32_t> ids;
  for (int i = 0; i < count; ++i)
    ids.push_back(sampler.sample(logits, {}));
  return ids;
}

// Tests that temperature 0 is greedy: the largest logit, ties to the lower id, whatever the seed.
TEST(Sampler, TemperatureZeroIsGreedy) {
  EXPECT_EQ(argmax(kLogits), 1);
  for (uint64_t seed : {1u, 2u, 99u})
    EXPECT_EQ(draw({.temperature = 0.0f, .seed = seed}, 5), std::vector<int32_t>(5, 1));
}

// Tests that the same seed gives the same tokens and another seed a different sequence.
TEST(Sampler, SameSeedSameTokens) {
  const SamplingParams params{
      .temperature = 1.5f, .topK = 0, .topP = 1.0f, .minP = 0.0f, .seed = 42};
  EXPECT_EQ(draw(params, 50), draw(params, 50));
  SamplingParams other = params;
  other.seed = 43;
  EXPECT_NE(draw(params, 50), draw(other, 50));
}

// Tests that draws follow the softmax: logits {0, ln 3} give the second token 3 times in 4.
TEST(Sampler, DrawsFollowTheSoftmax) {
  const std::vector<float> logits = {0.0f, std::log(3.0f)};
  const auto ids =
      draw({.temperature = 1.0f, .topK = 0, .topP = 1.0f, .minP = 0.0f, .seed = 7}, 8000, logits);
  const double share = std::count(ids.begin(), ids.end(), 1) / double(ids.size());
  EXPECT_NEAR(share, 0.75, 0.02);
}

// Tests that top-k, top-p and min-p restrict the candidates to the likeliest tokens.
TEST(Sampler, FiltersKeepOnlyLikelyTokens) {
  for (int32_t id :
       draw({.temperature = 5.0f, .topK = 2, .topP = 1.0f, .minP = 0.0f, .seed = 1}, 200))
    EXPECT_TRUE(id == 1 || id == 4) << id;
  for (int32_t id :
       draw({.temperature = 1.0f, .topK = 0, .topP = 0.5f, .minP = 0.0f, .seed = 2}, 200))
    EXPECT_TRUE(id == 1 || id == 4) << id; // the two 3.0 logits hold 2 × 0.35 of the mass
  for (int32_t id :
       draw({.temperature = 1.0f, .topK = 0, .topP = 1.0f, .minP = 0.5f, .seed = 3}, 200))
    EXPECT_TRUE(id == 1 || id == 2 || id == 4) << id; // e^-0.5 = 0.61 of the top probability
}

// Tests that the repetition penalty moves greedy decoding off a recently seen token.
TEST(Sampler, RepetitionPenaltyDiscouragesRecentTokens) {
  Sampler sampler({.temperature = 0.0f, .repeatPenalty = 1.5f, .repeatLastN = 2});
  const std::vector<int32_t> recent = {1, 4};
  EXPECT_EQ(sampler.sample(kLogits, recent), 2);
  const std::vector<int32_t> old = {1, 4, 0, 0}; // outside the window of 2
  EXPECT_EQ(sampler.sample(kLogits, old), 1);
}

// Tests that invalid parameters are refused by name.
TEST(Sampler, InvalidParametersAreRefused) {
  test::expectError([] { Sampler({.topP = 1.5f}); }, {"top-p 1.5"});
  test::expectError([] { Sampler({.minP = -0.1f}); }, {"min-p"});
  test::expectError([] { Sampler({.repeatPenalty = 0.0f}); }, {"repeat penalty"});
  test::expectError([] { Sampler({.temperature = NAN}); }, {"temperature"});
}

} // namespace
} // namespace greta::sampling
