//===- sampler.cpp - Choosing the next token from logits -------------------===//
#include "runtime/sampling/sampler.h"

#include "runtime/support/error.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

namespace greta::sampling {
namespace {

// splitmix64 constants (Steele, Lea, Flood: "Fast splittable pseudorandom number generators").
constexpr uint64_t kGoldenGamma = 0x9e3779b97f4a7c15ull;
constexpr uint64_t kMix1 = 0xbf58476d1ce4e5b9ull;
constexpr uint64_t kMix2 = 0x94d049bb133111ebull;
/// A float has a 24-bit significand: the top 24 bits of a draw map exactly onto [0, 1).
constexpr int kFloatBits = 24;
constexpr float kFloatUnit = 1.0f / static_cast<float>(1u << kFloatBits);

bool byLogitThenId(const auto &a, const auto &b) {
  return a.logit != b.logit ? a.logit > b.logit : a.id < b.id;
}

} // namespace

uint64_t Random::next() {
  state_ += kGoldenGamma;
  uint64_t z = state_;
  z = (z ^ (z >> 30)) * kMix1;
  z = (z ^ (z >> 27)) * kMix2;
  return z ^ (z >> 31);
}

float Random::uniform() { return static_cast<float>(next() >> (64 - kFloatBits)) * kFloatUnit; }

int32_t argmax(std::span<const float> logits) {
  if (logits.empty())
    fail("sampler: no logits to choose from");
  size_t best = 0;
  for (size_t i = 1; i < logits.size(); ++i)
    if (logits[i] > logits[best])
      best = i;
  return static_cast<int32_t>(best);
}

Sampler::Sampler(const SamplingParams &params) : params_(params), random_(params.seed) {
  if (std::isnan(params.temperature))
    fail("sampler: temperature is NaN");
  if (!(params.topP >= 0.0f && params.topP <= 1.0f))
    fail("sampler: top-p {} is outside [0, 1]", params.topP);
  if (!(params.minP >= 0.0f && params.minP <= 1.0f))
    fail("sampler: min-p {} is outside [0, 1]", params.minP);
  if (!(params.repeatPenalty > 0.0f) || !std::isfinite(params.repeatPenalty))
    fail("sampler: repeat penalty {} must be a finite number > 0", params.repeatPenalty);
}

void Sampler::applyPenalty(std::span<const int32_t> history) {
  if (params_.repeatPenalty == 1.0f || params_.repeatLastN <= 0)
    return;
  const size_t window = std::min(history.size(), static_cast<size_t>(params_.repeatLastN));
  std::unordered_set<int32_t> recent(history.end() - static_cast<ptrdiff_t>(window), history.end());
  for (Candidate &c : candidates_)
    if (recent.count(c.id))
      // As in llama.cpp (CTRL): shrink positive logits, push negative ones further down.
      c.logit = c.logit > 0 ? c.logit / params_.repeatPenalty : c.logit * params_.repeatPenalty;
}

int32_t Sampler::sample(std::span<const float> logits, std::span<const int32_t> history) {
  if (logits.empty())
    fail("sampler: no logits to choose from");
  candidates_.resize(logits.size());
  for (size_t i = 0; i < logits.size(); ++i)
    candidates_[i] = {static_cast<int32_t>(i), logits[i], 0.0f};
  applyPenalty(history);
  auto best = [&] {
    return std::min_element(
               candidates_.begin(), candidates_.end(),
               [](const Candidate &a, const Candidate &b) { return byLogitThenId(a, b); })
        ->id;
  };
  if (params_.temperature <= 0.0f)
    return best();

  for (Candidate &c : candidates_)
    c.logit /= params_.temperature;
  size_t keep = candidates_.size();
  if (params_.topK > 0)
    keep = std::min(keep, static_cast<size_t>(params_.topK));
  std::partial_sort(candidates_.begin(), candidates_.begin() + static_cast<ptrdiff_t>(keep),
                    candidates_.end(),
                    [](const Candidate &a, const Candidate &b) { return byLogitThenId(a, b); });
  candidates_.resize(keep);

  // Softmax over the survivors, highest first (subtracting the maximum keeps exp finite).
  const float maxLogit = candidates_.front().logit;
  double total = 0.0;
  for (Candidate &c : candidates_) {
    c.probability = std::exp(c.logit - maxLogit);
    total += c.probability;
  }
  for (Candidate &c : candidates_)
    c.probability = static_cast<float>(c.probability / total);

  if (params_.topP < 1.0f) {
    double cumulative = 0.0;
    size_t cut = 0;
    while (cut < candidates_.size()) {
      cumulative += candidates_[cut++].probability;
      if (cumulative >= params_.topP)
        break;
    }
    candidates_.resize(std::max<size_t>(cut, 1));
  }
  if (params_.minP > 0.0f) {
    const float threshold = params_.minP * candidates_.front().probability;
    size_t cut = 1;
    while (cut < candidates_.size() && candidates_[cut].probability >= threshold)
      ++cut;
    candidates_.resize(cut);
  }

  double remaining = 0.0;
  for (const Candidate &c : candidates_)
    remaining += c.probability;
  const double target = static_cast<double>(random_.uniform()) * remaining;
  double cumulative = 0.0;
  for (const Candidate &c : candidates_) {
    cumulative += c.probability;
    if (target < cumulative)
      return c.id;
  }
  return candidates_.back().id; // rounding left target at the very end
}

} // namespace greta::sampling
