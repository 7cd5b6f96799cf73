//===- quant_search.cpp - Scale searches of ggml's reference K-quantizers --===//
//
// Reading guide: each search holds one super-block transposed, x[i][s] = element i of sub-block
// s, so every inner loop runs over sub-blocks (lanes) and vectorizes without reordering any
// lane's sums. All state lives in one struct, so the compiler can see that no two arrays alias.
// Lanes a search has no use for (a flat or all-zero sub-block) are computed with harmless dummy
// values and overwritten at the end. Expressions are in ggml's evaluation order on purpose (see
// quant_search.h): w * l * l is (w * l) * l, not w * (l * l).
//
// Rather than copying levels on every improvement, the searches remember what the best candidate
// was rounded with and round it once more at the end (as ggml's symmetric search does).
//
//===----------------------------------------------------------------------===//
#include "runtime/formats/quant_search.h"

#include <algorithm>
#include <cmath>
#include <iterator>

namespace greta::quant {
namespace {

/// Candidate inverse scales of the symmetric search: (maxLevel + kSymmetricStep * k) / max|x|,
/// k = +-1 .. +-kSymmetricSteps.
constexpr int kSymmetricSteps = 9;
constexpr float kSymmetricStep = 0.1f;

/// nearestInt(value) clamped to [lowest, highest], as a float. Clamping after the conversion is
/// exact (nearestInt's results are integers below 2^23) and uses float min/max, which every
/// x86-64 SIMD unit has (32-bit integer min/max needs SSE4.1).
float roundClamped(float value, float lowest, float highest) {
  return std::max(lowest, std::min(highest, static_cast<float>(nearestInt(value))));
}

/// out[i][s] = values[s * Group + i].
template <size_t Group, size_t Lanes>
void transpose(const float *values, float (&out)[Group][Lanes]) {
  for (size_t s = 0; s < Lanes; ++s)
    for (size_t i = 0; i < Group; ++i)
      out[i][s] = values[s * Group + i];
}

/// levels[s * Group + i] = in[i][s] + bias, or 0 for lanes whose `keep` is false.
template <size_t Group, size_t Lanes>
void untranspose(const float (&in)[Group][Lanes], const bool (&keep)[Lanes], int bias,
                 uint8_t *levels) {
  for (size_t s = 0; s < Lanes; ++s)
    for (size_t i = 0; i < Group; ++i)
      levels[s * Group + i] =
          keep[s] ? static_cast<uint8_t>(static_cast<int>(in[i][s]) + bias) : uint8_t{0};
}

/// ggml's make_qkx2_quants over the 8 sub-blocks of 32 of a Q4_K/Q5_K super-block.
struct AffineLanes {
  static constexpr size_t kLanes = kKSubBlocks;
  static constexpr size_t kGroup = kKSubBlock;
  using LaneFloats = float[kLanes];

  float x[kGroup][kLanes];
  float w[kGroup][kLanes];
  /// Levels of the candidate being scored (small integers, held as floats: every use is a
  /// float product).
  float levels[kGroup][kLanes];
  LaneFloats sumW, sumWX;
  LaneFloats sumL, sumL2, sumXL, error;

  /// Rounds (x - origin) * inverse in every lane into `levels`; accumulates sum w l, sum w l^2,
  /// sum w l x.
  void round(const LaneFloats &inverse, const LaneFloats &origin, float maxLevel) {
    std::fill(std::begin(sumL), std::end(sumL), 0.f);
    std::fill(std::begin(sumL2), std::end(sumL2), 0.f);
    std::fill(std::begin(sumXL), std::end(sumXL), 0.f);
    for (size_t i = 0; i < kGroup; ++i) {
      for (size_t s = 0; s < kLanes; ++s) {
        const float l = roundClamped(inverse[s] * (x[i][s] - origin[s]), 0.f, maxLevel);
        levels[i][s] = l;
        sumL[s] += w[i][s] * l;
        sumL2[s] += w[i][s] * l * l;
        sumXL[s] += w[i][s] * l * x[i][s];
      }
    }
  }

  /// Weighted squared error of scale * level + offset against x, per lane.
  void score(const LaneFloats &scale, const LaneFloats &offset) {
    std::fill(std::begin(error), std::end(error), 0.f);
    for (size_t i = 0; i < kGroup; ++i) {
      for (size_t s = 0; s < kLanes; ++s) {
        const float diff = scale[s] * levels[i][s] + offset[s] - x[i][s];
        error[s] += w[i][s] * (diff * diff);
      }
    }
  }
};

/// ggml's make_qx_quants (x^2 weights) over the 16 sub-blocks of 16 of a Q6_K super-block.
struct SymmetricLanes {
  static constexpr size_t kLanes = kQ6KSubBlocks;
  static constexpr size_t kGroup = kQ6KSubBlock;
  using LaneFloats = float[kLanes];

  float x[kGroup][kLanes];
  /// Levels in [-maxLevel, maxLevel - 1] of the last rounding, as floats.
  float levels[kGroup][kLanes];
  LaneFloats sumLX, sumL2;

  /// Rounds every lane under `inverse` into `levels`; accumulates the x^2-weighted sum l x and
  /// sum l^2.
  void round(const LaneFloats &inverse, float maxLevel) {
    std::fill(std::begin(sumLX), std::end(sumLX), 0.f);
    std::fill(std::begin(sumL2), std::end(sumL2), 0.f);
    for (size_t i = 0; i < kGroup; ++i) {
      for (size_t s = 0; s < kLanes; ++s) {
        const float l = roundClamped(inverse[s] * x[i][s], -maxLevel, maxLevel - 1);
        levels[i][s] = l;
        const float w = x[i][s] * x[i][s];
        sumLX[s] += w * x[i][s] * l;
        sumL2[s] += w * l * l;
      }
    }
  }
};

} // namespace

void fitAffineSubBlocks(const float *values, const float *weights, uint8_t *levels,
                        AffineFit (&fits)[kKSubBlocks], const AffineSearch &search) {
  using Lanes = AffineLanes;
  constexpr size_t kLanes = Lanes::kLanes;
  Lanes lanes;
  transpose(values, lanes.x);
  transpose(weights, lanes.w);
  const float maxLevel = static_cast<float>(search.maxLevel);

  // `lo` is ggml's `min`: the origin levels are rounded from and, at the same time, the best
  // fit's offset, so accepting a candidate also moves the origin (and the range) of the rest.
  float lo[kLanes], hi[kLanes];
  for (size_t s = 0; s < kLanes; ++s) {
    lo[s] = hi[s] = lanes.x[0][s];
    lanes.sumW[s] = lanes.w[0][s];
    lanes.sumWX[s] = lanes.sumW[s] * lanes.x[0][s];
  }
  for (size_t i = 1; i < Lanes::kGroup; ++i) {
    for (size_t s = 0; s < kLanes; ++s) {
      lo[s] = std::min(lo[s], lanes.x[i][s]);
      hi[s] = std::max(hi[s], lanes.x[i][s]);
      lanes.sumW[s] += lanes.w[i][s];
      lanes.sumWX[s] += lanes.w[i][s] * lanes.x[i][s];
    }
  }

  bool fitted[kLanes];
  float range[kLanes], inverse[kLanes], scale[kLanes], best[kLanes];
  float bestInverse[kLanes], bestOrigin[kLanes]; // what rounds to the best levels
  for (size_t s = 0; s < kLanes; ++s) {
    // Levels start at 0, so the offset can only pull values down: a sub-block of positive
    // values is fitted from 0, not from its smallest value.
    lo[s] = std::min(lo[s], 0.f);
    fitted[s] = hi[s] != lo[s];
    range[s] = fitted[s] ? hi[s] - lo[s] : 1.f;
    inverse[s] = bestInverse[s] = search.maxLevel / range[s];
    bestOrigin[s] = lo[s];
    scale[s] = 1 / inverse[s];
  }
  lanes.round(inverse, lo, maxLevel);
  lanes.score(scale, lo);
  std::copy(std::begin(lanes.error), std::end(lanes.error), best);

  float candidateScale[kLanes], candidateOffset[kLanes];
  bool solvable[kLanes];
  for (int step = 0; step <= search.steps; ++step) {
    const float widened = search.firstOffset + search.stepSize * step + search.maxLevel;
    for (size_t s = 0; s < kLanes; ++s)
      inverse[s] = widened / range[s];
    lanes.round(inverse, lo, maxLevel);
    // Weighted least squares for x ~= scale * l + offset over the rounded levels.
    for (size_t s = 0; s < kLanes; ++s) {
      const float det = lanes.sumW[s] * lanes.sumL2[s] - lanes.sumL[s] * lanes.sumL[s];
      solvable[s] = det > 0;
      candidateScale[s] = (lanes.sumW[s] * lanes.sumXL[s] - lanes.sumWX[s] * lanes.sumL[s]) / det;
      candidateOffset[s] =
          (lanes.sumL2[s] * lanes.sumWX[s] - lanes.sumL[s] * lanes.sumXL[s]) / det;
      if (candidateOffset[s] > 0) {
        candidateOffset[s] = 0;
        candidateScale[s] = lanes.sumXL[s] / lanes.sumL2[s];
      }
    }
    lanes.score(candidateScale, candidateOffset);
    for (size_t s = 0; s < kLanes; ++s) {
      if (solvable[s] && lanes.error[s] < best[s]) {
        best[s] = lanes.error[s];
        bestInverse[s] = inverse[s];
        bestOrigin[s] = lo[s];
        scale[s] = candidateScale[s];
        lo[s] = candidateOffset[s];
        range[s] = hi[s] - lo[s];
      }
    }
  }

  lanes.round(bestInverse, bestOrigin, maxLevel);
  untranspose(lanes.levels, fitted, /*bias=*/0, levels);
  for (size_t s = 0; s < kLanes; ++s)
    fits[s] = {fitted[s] ? scale[s] : 0.f, -lo[s]};
}

void fitSymmetricSubBlocks(const float *values, uint8_t *levels,
                           float (&scales)[kQ6KSubBlocks], int maxLevel) {
  using Lanes = SymmetricLanes;
  constexpr size_t kLanes = Lanes::kLanes;
  Lanes lanes;
  transpose(values, lanes.x);
  const float maxLevelF = static_cast<float>(maxLevel);

  float max[kLanes] = {}, absMax[kLanes] = {};
  for (size_t i = 0; i < Lanes::kGroup; ++i) {
    for (size_t s = 0; s < kLanes; ++s) {
      const bool larger = std::fabs(lanes.x[i][s]) > absMax[s];
      absMax[s] = larger ? std::fabs(lanes.x[i][s]) : absMax[s];
      max[s] = larger ? lanes.x[i][s] : max[s];
    }
  }
  bool fitted[kLanes];
  for (size_t s = 0; s < kLanes; ++s) {
    fitted[s] = !(absMax[s] < kGroupMaxEps);
    max[s] = fitted[s] ? max[s] : 1.f;
  }

  // Map each lane's largest-magnitude value to -maxLevel: the negative side has one more level.
  float inverse[kLanes], bestInverse[kLanes], scale[kLanes], best[kLanes];
  for (size_t s = 0; s < kLanes; ++s)
    inverse[s] = bestInverse[s] = -maxLevel / max[s];
  lanes.round(inverse, maxLevelF);
  for (size_t s = 0; s < kLanes; ++s) {
    scale[s] = lanes.sumL2[s] != 0 ? lanes.sumLX[s] / lanes.sumL2[s] : 0.f;
    // A fit removes sumLX^2 / sumL2 of the error; compare candidates without dividing.
    best[s] = scale[s] * lanes.sumLX[s];
  }

  for (int step = -kSymmetricSteps; step <= kSymmetricSteps; ++step) {
    if (step == 0)
      continue;
    const float widened = maxLevel + kSymmetricStep * step;
    for (size_t s = 0; s < kLanes; ++s)
      inverse[s] = -widened / max[s];
    lanes.round(inverse, maxLevelF);
    for (size_t s = 0; s < kLanes; ++s) {
      const float sumLX = lanes.sumLX[s], sumL2 = lanes.sumL2[s];
      if (sumL2 > 0 && sumLX * sumLX > best[s] * sumL2) {
        bestInverse[s] = inverse[s];
        scale[s] = sumLX / sumL2;
        best[s] = scale[s] * sumLX;
      }
    }
  }

  lanes.round(bestInverse, maxLevelF);
  untranspose(lanes.levels, fitted, /*bias=*/maxLevel, levels);
  for (size_t s = 0; s < kLanes; ++s)
    scales[s] = fitted[s] ? scale[s] : 0.f;
}

} // namespace greta::quant
