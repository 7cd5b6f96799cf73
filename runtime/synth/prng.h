//===- prng.h - Portable random streams for synthetic weights --------------===//
//
// greta-synth promises byte-identical files for the same arguments on any machine, compiler and
// thread count. So every random number comes from integer-only generators (splitmix64 to seed,
// xoshiro256** to draw), every tensor chunk gets its own stream derived from (seed, tensor name,
// chunk index), and normal samples are built from integers and IEEE basic arithmetic only: no
// std:: distributions (their algorithms differ between standard libraries) and no libm
// transcendental functions (their last bit differs between libm versions).
//
// Thread-safety: a RandomStream is a value; use one per thread.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <bit>
#include <cstdint>
#include <string_view>

namespace greta::synth {

/// One step of splitmix64: advances `state` and returns a well-mixed 64-bit value.
uint64_t splitMix64(uint64_t &state);

/// FNV-1a 64 of a string (names tensors in stream seeds).
uint64_t fnv1a64(std::string_view text);

/// The seed of the stream for chunk `chunk` of tensor `tensorName` under the user's `seed`.
uint64_t streamSeed(uint64_t seed, std::string_view tensorName, uint64_t chunk);

/// xoshiro256** (Blackman, Vigna): fast, 256-bit state, passes BigCrush; seeded through
/// splitmix64 so that nearby seeds give unrelated streams. next() is inline: K-quant synthesis
/// draws over a billion numbers for an 8B model.
class RandomStream {
public:
  explicit RandomStream(uint64_t seed);

  uint64_t next() {
    const uint64_t result = std::rotl(state_[1] * 5, 7) * 9;
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = std::rotl(state_[3], 45);
    return result;
  }
  /// Uniform integer in [0, bound) by multiply-shift (bias below 2^-32 for the small bounds used).
  uint32_t below(uint32_t bound) { return static_cast<uint32_t>(((next() >> 32) * bound) >> 32); }
  /// Approximately standard normal: the Irwin-Hall sum of 8 uniform 16-bit integers, centred and
  /// scaled to unit variance. Exact integer sum, one IEEE multiplication: the same bits everywhere.
  /// Tails end at +-4.9 sigma, which trained weights rarely reach either.
  float normal();

private:
  uint64_t state_[4];
};

} // namespace greta::synth
