//===- quant_search.h - Scale searches of ggml's reference K-quantizers ----===//
//
// Internal to greta_quant. ggml's reference K-quantizers (quantize_row_q{4,5,6}_K_ref) choose each
// sub-block's scale by trying a handful of candidate scales and keeping the one with the least
// weighted squared error. These are those searches, written so that every float operation of a
// sub-block happens in the same order as in ggml, which makes GRETA's quantized files
// byte-identical to llama.cpp's reference output (the build disables FMA contraction for the same
// reason).
//
// Each search is a long chain of dependent float additions per sub-block, so all sub-blocks of a
// super-block are searched side by side (one SIMD lane each): the per-lane arithmetic is exactly
// the scalar search's, only interleaved.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/formats/quant_blocks.h"

#include <bit>
#include <cstddef>
#include <cstdint>

namespace greta::quant {

/// Below this magnitude a sub-block or super-block counts as all zero (ggml's GROUP_MAX_EPS).
inline constexpr float kGroupMaxEps = 1e-15f;

/// Rounds to the nearest integer, ties to even, by adding 1.5 * 2^23 so the float adder does the
/// rounding. Exact for |value| <= 2^22 - 1, which every level computation here stays within;
/// any other input (Inf, NaN) gives some int without undefined behaviour, and callers clamp.
inline int nearestInt(float value) {
  constexpr float kRoundingBias = 12582912.f; // 1.5 * 2^23
  constexpr uint32_t kMantissaMask = 0x007fffffu;
  constexpr int32_t kBiasMantissa = 0x00400000;
  const float biased = value + kRoundingBias;
  return static_cast<int32_t>(std::bit_cast<uint32_t>(biased) & kMantissaMask) - kBiasMantissa;
}

/// How the affine search picks candidate scales: level count over the value range, widened by
/// `firstOffset + stepSize * k` for k = 0..steps (ggml's rmin, rdelta, nstep; steps >= 1).
struct AffineSearch {
  int maxLevel;
  float firstOffset;
  float stepSize;
  int steps;
};

/// x ~= scale * level - min, with level in [0, maxLevel] and min >= 0.
struct AffineFit {
  float scale;
  float min;
};

/// Fits each sub-block of 32 of a Q4_K/Q5_K super-block (`x`, `weights`: kQK_K values) as
/// scale * level - min, minimising the weighted squared error: for each candidate scale, levels
/// are rounded and scale and min refit by weighted least squares (the fit's offset clamped to
/// <= 0); later candidates round from the best offset so far. Writes the best levels (kQK_K)
/// and one fit per sub-block. An all-equal sub-block gets scale 0. ggml's make_qkx2_quants.
void fitAffineSubBlocks(const float *x, const float *weights, uint8_t *levels,
                        AffineFit (&fits)[kKSubBlocks], const AffineSearch &search);

/// Fits each sub-block of 16 of a Q6_K super-block (`x`: kQK_K values) as
/// scale * (level - maxLevel), level in [0, 2 maxLevel - 1], weighting each value by x^2 and
/// trying inverse scales (maxLevel + 0.1 k) / max|x| for k = -9..9. Writes the levels (kQK_K) and
/// one scale per sub-block (signed: it maps the largest-magnitude value to -maxLevel; 0 for a
/// sub-block of near-zeros). ggml's make_qx_quants with rmse_type 1.
void fitSymmetricSubBlocks(const float *x, uint8_t *levels, float (&scales)[kQ6KSubBlocks],
                           int maxLevel);

} // namespace greta::quant
