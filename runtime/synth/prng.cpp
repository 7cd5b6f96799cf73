#include "runtime/synth/prng.h"

namespace greta::synth {
namespace {

// splitmix64 constants (Steele, Lea, Flood: "Fast splittable pseudorandom number generators").
constexpr uint64_t kGoldenGamma = 0x9e3779b97f4a7c15ull;
constexpr uint64_t kMix1 = 0xbf58476d1ce4e5b9ull;
constexpr uint64_t kMix2 = 0x94d049bb133111ebull;

constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ull;
constexpr uint64_t kFnvPrime = 0x100000001b3ull;

// Irwin-Hall with kNormalTerms uniforms of kNormalTermBits bits each: two 64-bit draws.
constexpr int kNormalTerms = 8;
constexpr int kNormalTermBits = 16;
constexpr uint64_t kTermMask = (1ull << kNormalTermBits) - 1;
// Sum of 8 values in [0, 65535]: mean 8 * 65535 / 2; twice the sum keeps the centre an integer.
constexpr int64_t kTwiceMean = int64_t{kNormalTerms} * int64_t{kTermMask};
// Variance of one discrete uniform on [0, n-1] is (n^2 - 1) / 12, so the sum of 8 has standard
// deviation sqrt(8 * (65536^2 - 1) / 12) = 53509.9199...; the constant is 1 / (2 * that), rounded
// once by the compiler from a decimal literal (no run-time sqrt or division involved).
constexpr float kTwiceSumToUnit = static_cast<float>(1.0 / (2.0 * 53509.91992145008));

} // namespace

uint64_t splitMix64(uint64_t &state) {
  state += kGoldenGamma;
  uint64_t z = state;
  z = (z ^ (z >> 30)) * kMix1;
  z = (z ^ (z >> 27)) * kMix2;
  return z ^ (z >> 31);
}

uint64_t fnv1a64(std::string_view text) {
  uint64_t hash = kFnvOffset;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= kFnvPrime;
  }
  return hash;
}

uint64_t streamSeed(uint64_t seed, std::string_view tensorName, uint64_t chunk) {
  uint64_t state = seed;
  uint64_t mixed = splitMix64(state) ^ fnv1a64(tensorName);
  mixed = splitMix64(mixed) ^ chunk;
  return splitMix64(mixed);
}

RandomStream::RandomStream(uint64_t seed) {
  for (uint64_t &word : state_)
    word = splitMix64(seed);
}

float RandomStream::normal() {
  int64_t sum = 0;
  for (int draw = 0; draw < kNormalTerms * kNormalTermBits / 64; ++draw) {
    uint64_t bits = next();
    for (int term = 0; term < 64 / kNormalTermBits; ++term, bits >>= kNormalTermBits)
      sum += static_cast<int64_t>(bits & kTermMask);
  }
  // |2*sum - mean2| < 2^20: exact in float, so the only rounding is the final multiplication.
  return static_cast<float>(2 * sum - kTwiceMean) * kTwiceSumToUnit;
}

} // namespace greta::synth
