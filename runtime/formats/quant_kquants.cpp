//===- quant_kquants.cpp - Q4_K, Q5_K and Q6_K super-blocks ----------------===//
//
// Decoding is bit-exact with ggml's dequantize_row_q*_K (and gguf-py): each sub-block factor is
// one rounded float32 product (d * scale, dmin * min) and each value is factor * q - offset with
// separate roundings (no FMA; the build passes -ffp-contract=off).
//
// Encoding follows ggml's quantize_row_q*_K_ref: Q4_K/Q5_K fit a scale and min per sub-block of 32
// (quant_search.h), quantize those to 6 bits against the super-block's largest, then requantize
// every value against the rounded factors the decoder will actually use. Q6_K does the same with a
// signed scale per sub-block of 16 and 8-bit sub-block scales.
//
//===----------------------------------------------------------------------===//
#include "runtime/formats/quant.h"
#include "runtime/formats/quant_blocks.h"
#include "runtime/formats/quant_search.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>

namespace greta::quant {
namespace {

/// ggml's reference search settings (quantize_row_q4_K_ref / quantize_row_q5_K_ref).
constexpr AffineSearch kQ4KSearch{/*maxLevel=*/15, /*firstOffset=*/-1.f, /*stepSize=*/0.1f,
                                  /*steps=*/20};
constexpr AffineSearch kQ5KSearch{/*maxLevel=*/31, /*firstOffset=*/-0.5f, /*stepSize=*/0.1f,
                                  /*steps=*/15};

/// Sub-block scales and mins of Q4_K/Q5_K are 6-bit multiples of the super-block's d and dmin.
constexpr int kMaxSixBit = 63;
constexpr float kMaxSixBitF = 63.f;

/// Q6_K levels are q - 32 with q in [0, 63].
constexpr int kQ6KLevelOffset = 32;
/// Q6_K's sub-block scales use int8's full range: the largest-magnitude one maps to -128.
constexpr float kQ6KScaleLevels = -128.f;
constexpr int kQ6KMaxScale = 127;

/// Elements per half of a Q6_K super-block; each half has 64 bytes of ql and 32 of qh.
constexpr size_t kQ6KHalf = 128;

struct ScaleMin {
  uint8_t scale;
  uint8_t min;
};

// The 12-byte scale field shared by Q4_K and Q5_K, for sub-blocks s = 0..3:
//   byte s:     scale[s]   | (scale[s+4] >> 4) << 6
//   byte s + 4: min[s]     | (min[s+4]   >> 4) << 6
//   byte s + 8: scale[s+4] & 0xF | (min[s+4] & 0xF) << 4
ScaleMin unpackScaleMin(const uint8_t *packed, size_t sub) {
  constexpr uint8_t kLow6 = 0x3f;
  if (sub < 4)
    return {static_cast<uint8_t>(packed[sub] & kLow6), static_cast<uint8_t>(packed[sub + 4] & kLow6)};
  return {static_cast<uint8_t>((packed[sub + 4] & 0x0f) | ((packed[sub - 4] >> 6) << 4)),
          static_cast<uint8_t>((packed[sub + 4] >> 4) | ((packed[sub] >> 6) << 4))};
}

void packScaleMins(const std::array<ScaleMin, kKSubBlocks> &values, uint8_t *packed) {
  for (size_t s = 0; s < 4; ++s) {
    const ScaleMin low = values[s];
    const ScaleMin high = values[s + 4];
    packed[s] = static_cast<uint8_t>(low.scale | (high.scale >> 4) << 6);
    packed[s + 4] = static_cast<uint8_t>(low.min | (high.min >> 4) << 6);
    packed[s + 8] = static_cast<uint8_t>((high.scale & 0x0f) | (high.min & 0x0f) << 4);
  }
}

/// What Q4_K and Q5_K share: super-block factors, packed sub-block scales, and every level.
struct AffineSuperBlock {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[kQ4KScaleBytes];
  std::array<uint8_t, kQK_K> levels;
};

AffineSuperBlock quantizeAffineSuperBlock(const float *x, const AffineSearch &search) {
  AffineSuperBlock out;
  // Weight each value by its sub-block's RMS plus its own magnitude: large values matter more.
  std::array<float, kQK_K> weights;
  for (size_t s = 0; s < kKSubBlocks; ++s) {
    const float *sub = x + s * kKSubBlock;
    float sumSquares = 0;
    for (size_t l = 0; l < kKSubBlock; ++l)
      sumSquares += sub[l] * sub[l];
    const float rms = std::sqrt(sumSquares / static_cast<float>(kKSubBlock));
    for (size_t l = 0; l < kKSubBlock; ++l)
      weights[s * kKSubBlock + l] = rms + std::fabs(sub[l]);
  }
  AffineFit fits[kKSubBlocks];
  fitAffineSubBlocks(x, weights.data(), out.levels.data(), fits, search);
  float maxScale = 0;
  float maxMin = 0;
  for (const AffineFit &fit : fits) {
    maxScale = std::max(maxScale, fit.scale);
    maxMin = std::max(maxMin, fit.min);
  }

  const float inverseScale = maxScale > 0 ? kMaxSixBitF / maxScale : 0.f;
  const float inverseMin = maxMin > 0 ? kMaxSixBitF / maxMin : 0.f;
  std::array<ScaleMin, kKSubBlocks> sixBit;
  for (size_t s = 0; s < kKSubBlocks; ++s) {
    // Truncation to uint8_t before clamping is ggml's; it only matters for out-of-range input.
    const auto scale = static_cast<uint8_t>(nearestInt(inverseScale * fits[s].scale));
    const auto min = static_cast<uint8_t>(nearestInt(inverseMin * fits[s].min));
    sixBit[s] = {std::min<uint8_t>(kMaxSixBit, scale), std::min<uint8_t>(kMaxSixBit, min)};
  }
  packScaleMins(sixBit, out.scales);
  out.d = floatToHalf(maxScale / kMaxSixBitF);
  out.dmin = floatToHalf(maxMin / kMaxSixBitF);

  // Requantize against the factors the decoder will use (6-bit scales, binary16 d and dmin).
  const float d = halfToFloat(out.d);
  const float dmin = halfToFloat(out.dmin);
  for (size_t s = 0; s < kKSubBlocks; ++s) {
    const float scale = d * sixBit[s].scale;
    if (scale == 0)
      continue; // every level decodes to -offset; keeping the search's matches ggml's bytes
    const float offset = dmin * sixBit[s].min;
    for (size_t l = 0; l < kKSubBlock; ++l) {
      const int level = nearestInt((x[s * kKSubBlock + l] + offset) / scale);
      out.levels[s * kKSubBlock + l] =
          static_cast<uint8_t>(std::clamp(level, 0, search.maxLevel));
    }
  }
  return out;
}

/// Decodes one Q4_K/Q5_K super-block; `levelOf(sub, l)` reads element l of sub-block `sub`.
template <typename LevelOf>
void dequantizeAffineSuperBlock(uint16_t dBits, uint16_t dminBits, const uint8_t *scales,
                                LevelOf levelOf, float *out) {
  const float d = halfToFloat(dBits);
  const float dmin = halfToFloat(dminBits);
  for (size_t s = 0; s < kKSubBlocks; ++s) {
    const ScaleMin sixBit = unpackScaleMin(scales, s);
    const float scale = d * sixBit.scale;
    const float offset = dmin * sixBit.min;
    for (size_t l = 0; l < kKSubBlock; ++l)
      out[s * kKSubBlock + l] = scale * levelOf(s, l) - offset;
  }
}

/// Byte of `qs` and nibble shift holding element l of sub-block s (Q4_K and Q5_K low bits): each
/// 32-byte run holds sub-block 2c in its low nibbles and 2c + 1 in its high nibbles.
size_t nibbleByte(size_t s, size_t l) { return (s / 2) * kKSubBlock + l; }
unsigned nibbleShift(size_t s) { return static_cast<unsigned>(s % 2) * 4; }

template <typename Block> Block loadBlock(const uint8_t *src, size_t index) {
  Block block;
  std::memcpy(&block, src + index * sizeof(Block), sizeof(Block));
  return block;
}

template <typename Block> void storeBlock(const Block &block, uint8_t *dst, size_t index) {
  std::memcpy(dst + index * sizeof(Block), &block, sizeof(Block));
}

} // namespace

void dequantizeQ4_K(const uint8_t *src, float *dst, size_t blocks) {
  for (size_t i = 0; i < blocks; ++i) {
    const auto block = loadBlock<BlockQ4_K>(src, i);
    dequantizeAffineSuperBlock(
        block.d, block.dmin, block.scales,
        [&](size_t s, size_t l) { return (block.qs[nibbleByte(s, l)] >> nibbleShift(s)) & 0x0f; },
        dst + i * kQK_K);
  }
}

void dequantizeQ5_K(const uint8_t *src, float *dst, size_t blocks) {
  for (size_t i = 0; i < blocks; ++i) {
    const auto block = loadBlock<BlockQ5_K>(src, i);
    dequantizeAffineSuperBlock(
        block.d, block.dmin, block.scales,
        [&](size_t s, size_t l) {
          return ((block.qs[nibbleByte(s, l)] >> nibbleShift(s)) & 0x0f) |
                 ((block.qh[l] >> s) & 1) << 4;
        },
        dst + i * kQK_K);
  }
}

void quantizeQ4_K(const float *src, uint8_t *dst, size_t blocks) {
  for (size_t i = 0; i < blocks; ++i) {
    const AffineSuperBlock fit = quantizeAffineSuperBlock(src + i * kQK_K, kQ4KSearch);
    BlockQ4_K block{};
    block.d = fit.d;
    block.dmin = fit.dmin;
    std::memcpy(block.scales, fit.scales, sizeof(block.scales));
    for (size_t s = 0; s < kKSubBlocks; ++s)
      for (size_t l = 0; l < kKSubBlock; ++l)
        block.qs[nibbleByte(s, l)] |= fit.levels[s * kKSubBlock + l] << nibbleShift(s);
    storeBlock(block, dst, i);
  }
}

void quantizeQ5_K(const float *src, uint8_t *dst, size_t blocks) {
  for (size_t i = 0; i < blocks; ++i) {
    const AffineSuperBlock fit = quantizeAffineSuperBlock(src + i * kQK_K, kQ5KSearch);
    BlockQ5_K block{};
    block.d = fit.d;
    block.dmin = fit.dmin;
    std::memcpy(block.scales, fit.scales, sizeof(block.scales));
    for (size_t s = 0; s < kKSubBlocks; ++s) {
      for (size_t l = 0; l < kKSubBlock; ++l) {
        const uint8_t level = fit.levels[s * kKSubBlock + l];
        block.qs[nibbleByte(s, l)] |= (level & 0x0f) << nibbleShift(s);
        block.qh[l] |= (level >> 4) << s;
      }
    }
    storeBlock(block, dst, i);
  }
}

// Q6_K bit placement: element e = 128 h + 32 g + l (half h, group g = 0..3, l = 0..31) keeps
//   low 4 bits in  ql[64 h + 32 (g & 1) + l], nibble g >> 1;
//   high 2 bits in qh[32 h + l], bits 2 g and 2 g + 1.
namespace {

size_t q6LowByte(size_t h, size_t g, size_t l) { return 64 * h + 32 * (g & 1) + l; }
unsigned q6LowShift(size_t g) { return static_cast<unsigned>(g >> 1) * 4; }
size_t q6HighByte(size_t h, size_t l) { return 32 * h + l; }
unsigned q6HighShift(size_t g) { return static_cast<unsigned>(g) * 2; }
constexpr size_t kQ6KGroups = kQ6KHalf / 32;

} // namespace

void dequantizeQ6_K(const uint8_t *src, float *dst, size_t blocks) {
  for (size_t i = 0; i < blocks; ++i) {
    const auto block = loadBlock<BlockQ6_K>(src, i);
    const float d = halfToFloat(block.d);
    std::array<float, kQ6KSubBlocks> scales;
    for (size_t s = 0; s < kQ6KSubBlocks; ++s)
      scales[s] = d * block.scales[s];
    float *out = dst + i * kQK_K;
    for (size_t h = 0; h < kQK_K / kQ6KHalf; ++h) {
      for (size_t g = 0; g < kQ6KGroups; ++g) {
        for (size_t l = 0; l < 32; ++l) {
          const size_t e = kQ6KHalf * h + 32 * g + l;
          const int q = (((block.ql[q6LowByte(h, g, l)] >> q6LowShift(g)) & 0x0f) |
                         ((block.qh[q6HighByte(h, l)] >> q6HighShift(g)) & 0x03) << 4) -
                        kQ6KLevelOffset;
          out[e] = scales[e / kQ6KSubBlock] * q;
        }
      }
    }
  }
}

void quantizeQ6_K(const float *src, uint8_t *dst, size_t blocks) {
  for (size_t i = 0; i < blocks; ++i) {
    const float *x = src + i * kQK_K;
    std::array<uint8_t, kQK_K> levels;
    float subScales[kQ6KSubBlocks];
    fitSymmetricSubBlocks(x, levels.data(), subScales, kQ6KLevelOffset);
    float maxScale = 0;
    float maxAbsScale = 0;
    for (float scale : subScales) {
      if (std::fabs(scale) > maxAbsScale) {
        maxAbsScale = std::fabs(scale);
        maxScale = scale;
      }
    }

    BlockQ6_K block{};
    if (maxAbsScale < kGroupMaxEps) { // all (near-)zero: the all-zero block decodes to zeros
      storeBlock(block, dst, i);
      continue;
    }
    const float inverse = kQ6KScaleLevels / maxScale;
    block.d = floatToHalf(1 / inverse);
    for (size_t s = 0; s < kQ6KSubBlocks; ++s)
      block.scales[s] =
          static_cast<int8_t>(std::min(kQ6KMaxScale, nearestInt(inverse * subScales[s])));

    // Requantize against the factors the decoder will use.
    const float d = halfToFloat(block.d);
    for (size_t s = 0; s < kQ6KSubBlocks; ++s) {
      const float scale = d * block.scales[s];
      if (scale == 0)
        continue;
      for (size_t l = 0; l < kQ6KSubBlock; ++l) {
        const size_t e = s * kQ6KSubBlock + l;
        const int level = std::clamp(nearestInt(x[e] / scale), -kQ6KLevelOffset,
                                     kQ6KLevelOffset - 1);
        levels[e] = static_cast<uint8_t>(level + kQ6KLevelOffset);
      }
    }

    for (size_t h = 0; h < kQK_K / kQ6KHalf; ++h) {
      for (size_t g = 0; g < kQ6KGroups; ++g) {
        for (size_t l = 0; l < 32; ++l) {
          const uint8_t level = levels[kQ6KHalf * h + 32 * g + l];
          block.ql[q6LowByte(h, g, l)] |= (level & 0x0f) << q6LowShift(g);
          block.qh[q6HighByte(h, l)] |= (level >> 4) << q6HighShift(g);
        }
      }
    }
    storeBlock(block, dst, i);
  }
}

} // namespace greta::quant
