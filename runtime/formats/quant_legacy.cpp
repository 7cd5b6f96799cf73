//===- quant_legacy.cpp - Q8_0 and Q4_0 blocks -----------------------------===//
//
// Bit-exact with ggml's quantize_row_q{8,4}_0_ref and dequantize_row_q{8,4}_0, and so with
// gguf-py's quantize/dequantize for these types: a per-block scale from the largest magnitude, one
// float32 multiply per value, binary16 scale rounded to nearest even.
//
// Where the reference converts an out-of-range float to an integer (undefined in C, so whatever
// the machine does), these saturate instead. That only happens for blocks whose largest
// magnitude is below ~4e-37, where the scale's reciprocal overflows.
//
//===----------------------------------------------------------------------===//
#include "runtime/formats/quant.h"
#include "runtime/formats/quant_blocks.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace greta::quant {
namespace {

/// Q8_0 levels are [-127, 127] (symmetric, so -128 is never produced).
constexpr int kQ8MaxLevel = 127;
/// Q4_0 levels are q - 8 with q in [0, 15]; the largest-magnitude value maps to -8.
constexpr int kQ4Offset = 8;
constexpr int kQ4MaxCode = 15;
/// Q4_0 rounds by truncating value + 8.5 (ggml's choice; equals round-half-up of value + 8).
constexpr float kQ4RoundingOffset = 8.5f;

/// round(value) with ties away from zero (C's roundf), saturated to [-limit, limit]; NaN gives 0.
/// Done with an integer truncation instead of calling roundf, which is not inlined on x86-64.
int roundSaturated(float value, int limit) {
  if (!(std::fabs(value) < static_cast<float>(limit)))
    return std::isnan(value) ? 0 : (value > 0 ? limit : -limit);
  int truncated = static_cast<int>(value);
  const float fraction = value - static_cast<float>(truncated); // exact: same binade or less
  if (fraction >= 0.5f)
    ++truncated;
  else if (fraction <= -0.5f)
    --truncated;
  return truncated;
}

/// trunc(value) clamped to [0, limit]; NaN gives 0.
int truncateClamped(float value, int limit) {
  if (!(value > 0))
    return 0;
  return value >= static_cast<float>(limit) ? limit : static_cast<int>(value);
}

} // namespace

void dequantizeQ8_0(const uint8_t *src, float *dst, size_t blocks) {
  for (size_t i = 0; i < blocks; ++i) {
    BlockQ8_0 block;
    std::memcpy(&block, src + i * sizeof(block), sizeof(block));
    const float d = halfToFloat(block.d);
    for (size_t j = 0; j < kQK8_0; ++j)
      dst[i * kQK8_0 + j] = block.qs[j] * d;
  }
}

void quantizeQ8_0(const float *src, uint8_t *dst, size_t blocks) {
  for (size_t i = 0; i < blocks; ++i) {
    const float *x = src + i * kQK8_0;
    float absMax = 0;
    for (size_t j = 0; j < kQK8_0; ++j)
      absMax = std::max(absMax, std::fabs(x[j])); // input is finite (quant.cpp checks)
    const float d = absMax / kQ8MaxLevel;
    const float inverse = d != 0 ? 1.0f / d : 0.0f;

    BlockQ8_0 block;
    block.d = floatToHalf(d);
    for (size_t j = 0; j < kQK8_0; ++j)
      block.qs[j] = static_cast<int8_t>(roundSaturated(x[j] * inverse, kQ8MaxLevel));
    std::memcpy(dst + i * sizeof(block), &block, sizeof(block));
  }
}

void dequantizeQ4_0(const uint8_t *src, float *dst, size_t blocks) {
  constexpr size_t kHalf = kQK4_0 / 2;
  for (size_t i = 0; i < blocks; ++i) {
    BlockQ4_0 block;
    std::memcpy(&block, src + i * sizeof(block), sizeof(block));
    const float d = halfToFloat(block.d);
    for (size_t j = 0; j < kHalf; ++j) {
      dst[i * kQK4_0 + j] = d * static_cast<float>((block.qs[j] & 0x0f) - kQ4Offset);
      dst[i * kQK4_0 + j + kHalf] = d * static_cast<float>((block.qs[j] >> 4) - kQ4Offset);
    }
  }
}

void quantizeQ4_0(const float *src, uint8_t *dst, size_t blocks) {
  constexpr size_t kHalf = kQK4_0 / 2;
  for (size_t i = 0; i < blocks; ++i) {
    const float *x = src + i * kQK4_0;
    // The signed value of largest magnitude (the first one on ties) maps to level -8, using the
    // asymmetric range's extra negative level.
    float absMax = 0;
    float max = 0;
    for (size_t j = 0; j < kQK4_0; ++j) {
      if (absMax < std::fabs(x[j])) {
        absMax = std::fabs(x[j]);
        max = x[j];
      }
    }
    const float d = max / -kQ4Offset;
    const float inverse = d != 0 ? 1.0f / d : 0.0f;

    BlockQ4_0 block;
    block.d = floatToHalf(d);
    for (size_t j = 0; j < kHalf; ++j) {
      const int low = truncateClamped(x[j] * inverse + kQ4RoundingOffset, kQ4MaxCode);
      const int high = truncateClamped(x[j + kHalf] * inverse + kQ4RoundingOffset, kQ4MaxCode);
      block.qs[j] = static_cast<uint8_t>(low | high << 4);
    }
    std::memcpy(dst + i * sizeof(block), &block, sizeof(block));
  }
}

} // namespace greta::quant
