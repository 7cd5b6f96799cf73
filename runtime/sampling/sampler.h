//===- sampler.h - Choosing the next token from logits ---------------------===//
//
// Greedy, or the llama.cpp-style chain: repetition penalty → temperature → top-k → softmax →
// top-p → min-p → draw. Temperature 0 (or below) is greedy. Draws come from a seeded portable
// generator (splitmix64) and candidates are ordered by (logit, then id), so the same seed, logits
// and history give the same token on every machine and standard library.
//
// Thread-safety: a Sampler is stateful (its generator); use one per generation.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace greta::sampling {

struct SamplingParams {
  float temperature = 0.8f;   ///< <= 0: greedy
  int32_t topK = 40;          ///< <= 0: all tokens
  float topP = 0.95f;         ///< >= 1: off
  float minP = 0.05f;         ///< <= 0: off; drop tokens below minP × the top probability
  float repeatPenalty = 1.0f; ///< 1: off; > 1 discourages tokens in the recent history
  int32_t repeatLastN = 64;   ///< history length the penalty looks at
  uint64_t seed = 0;
};

/// splitmix64: a 64-bit generator of a few integer operations, identical everywhere.
class Random {
public:
  explicit Random(uint64_t seed) : state_(seed) {}
  uint64_t next();
  /// Uniform in [0, 1) with 24 random bits (exactly representable as float).
  float uniform();

private:
  uint64_t state_;
};

class Sampler {
public:
  /// Throws greta::Error naming the parameter for values outside their range (negative
  /// penalty, top-p or min-p outside [0, 1], NaN).
  explicit Sampler(const SamplingParams &params);

  /// The next token for `logits` (one per vocabulary entry). `history` holds the tokens so far
  /// (prompt and generated); the penalty looks at its last repeatLastN.
  int32_t sample(std::span<const float> logits, std::span<const int32_t> history);

  const SamplingParams &params() const { return params_; }

private:
  struct Candidate {
    int32_t id;
    float logit;
    float probability;
  };
  void applyPenalty(std::span<const int32_t> history);

  SamplingParams params_;
  Random random_;
  std::vector<Candidate> candidates_;
};

/// The index of the largest logit (ties: the lowest id). Throws for empty logits.
int32_t argmax(std::span<const float> logits);

} // namespace greta::sampling
