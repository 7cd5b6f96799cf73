//===- quant_float.cpp - binary16 / bfloat16 conversions and float rows ----===//
//
// The scalar conversions behind F16, BF16 and every block scale, and the row codecs of the three
// plain float types.
//
// NaN handling follows the references GRETA is tested against: binary16 keeps the sign and the top
// 10 payload bits (numpy's float32 -> float16 cast, which gguf-py uses for F16 tensors), forcing a
// non-zero payload so a NaN never becomes Inf; bfloat16 quiets NaNs as ggml's
// ggml_compute_fp32_to_bf16 does (and gguf-py's BF16 quantizer mirrors). Widening is exact for
// every input, NaN payloads included.
//
//===----------------------------------------------------------------------===//
#include "runtime/formats/quant.h"
#include "runtime/formats/quant_blocks.h"

#include <bit>
#include <cstring>

namespace greta {
namespace {

constexpr uint32_t kF32SignMask = 0x80000000u;
constexpr uint32_t kF32ExponentMask = 0x7f800000u;
constexpr uint32_t kF32MantissaMask = 0x007fffffu;
constexpr int kF32Bias = 127;
constexpr int kF32MantissaBits = 23;

constexpr uint16_t kF16SignMask = 0x8000u;
constexpr uint16_t kF16ExponentMask = 0x7c00u;
constexpr uint16_t kF16MantissaMask = 0x03ffu;
constexpr int kF16Bias = 15;
constexpr int kF16MantissaBits = 10;
/// Mantissa bits a float32 -> float16 narrowing drops.
constexpr int kF16DroppedBits = kF32MantissaBits - kF16MantissaBits;
/// Smallest and largest unbiased exponents of a normal binary16.
constexpr int kF16MinExponent = 1 - kF16Bias;
constexpr int kF16MaxExponent = kF16Bias;

/// Quiet bit of a bfloat16 NaN (the top mantissa bit).
constexpr uint16_t kBf16QuietBit = 0x0040u;

/// Shifts `value` right by `shift` (1..31) bits, rounding to nearest, ties to even.
uint32_t shiftRightRoundingToEven(uint32_t value, int shift) {
  const uint32_t half = 1u << (shift - 1);
  const uint32_t remainder = value & ((1u << shift) - 1);
  uint32_t result = value >> shift;
  if (remainder > half || (remainder == half && (result & 1u)))
    ++result;
  return result;
}

} // namespace

uint16_t floatToHalf(float value) {
  const uint32_t bits = std::bit_cast<uint32_t>(value);
  const auto sign = static_cast<uint16_t>((bits & kF32SignMask) >> 16);
  const uint32_t mantissa = bits & kF32MantissaMask;

  if ((bits & kF32ExponentMask) == kF32ExponentMask) {
    if (mantissa == 0)
      return sign | kF16ExponentMask; // +-Inf
    auto payload = static_cast<uint16_t>(mantissa >> kF16DroppedBits);
    return sign | kF16ExponentMask | (payload != 0 ? payload : uint16_t{1});
  }

  const int exponent = static_cast<int>((bits & kF32ExponentMask) >> kF32MantissaBits) - kF32Bias;
  if (exponent > kF16MaxExponent)
    return sign | kF16ExponentMask; // >= 65536: past the rounding boundary 65520, so Inf
  if (exponent >= kF16MinExponent) {
    // Normal result. A carry out of the mantissa correctly bumps the exponent (up to Inf).
    const uint32_t biased = static_cast<uint32_t>(exponent + kF16Bias) << kF16MantissaBits;
    return sign | static_cast<uint16_t>(
                      shiftRightRoundingToEven(biased << kF16DroppedBits | mantissa,
                                               kF16DroppedBits));
  }
  // Subnormal (or zero) result in units of 2^-24: significand * 2^(exponent + 1). Below 2^-25 the
  // value is under half the smallest subnormal and rounds to zero (2^-25 itself ties to zero).
  if (exponent < kF16MinExponent - kF16MantissaBits - 1)
    return sign;
  const uint32_t significand = mantissa | (1u << kF32MantissaBits);
  return sign | static_cast<uint16_t>(shiftRightRoundingToEven(significand, -(exponent + 1)));
}

float halfToFloat(uint16_t bits) {
  const uint32_t sign = static_cast<uint32_t>(bits & kF16SignMask) << 16;
  const uint32_t exponent = (bits & kF16ExponentMask) >> kF16MantissaBits;
  uint32_t mantissa = bits & kF16MantissaMask;

  if (exponent == 0x1f) // Inf / NaN, payload kept
    return std::bit_cast<float>(sign | kF32ExponentMask | mantissa << kF16DroppedBits);
  if (exponent != 0)
    return std::bit_cast<float>(sign | (exponent - kF16Bias + kF32Bias) << kF32MantissaBits |
                                mantissa << kF16DroppedBits);
  if (mantissa == 0)
    return std::bit_cast<float>(sign);
  // Subnormal: normalize, since every binary16 subnormal is a normal float32.
  int unbiased = kF16MinExponent;
  while ((mantissa & (1u << kF16MantissaBits)) == 0) {
    mantissa <<= 1;
    --unbiased;
  }
  mantissa &= kF16MantissaMask;
  return std::bit_cast<float>(sign | static_cast<uint32_t>(unbiased + kF32Bias) << kF32MantissaBits |
                              mantissa << kF16DroppedBits);
}

uint16_t floatToBf16(float value) {
  const uint32_t bits = std::bit_cast<uint32_t>(value);
  if ((bits & ~kF32SignMask) > kF32ExponentMask)
    return static_cast<uint16_t>(bits >> 16) | kBf16QuietBit;
  // Cannot overflow 32 bits: the largest non-NaN pattern is -Inf, 0xff800000.
  return static_cast<uint16_t>((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}

float bf16ToFloat(uint16_t bits) { return std::bit_cast<float>(static_cast<uint32_t>(bits) << 16); }

namespace quant {

void dequantizeF32(const uint8_t *src, float *dst, size_t blocks) {
  std::memcpy(dst, src, blocks * sizeof(float));
}

void dequantizeF16(const uint8_t *src, float *dst, size_t blocks) {
  for (size_t i = 0; i < blocks; ++i) {
    uint16_t bits;
    std::memcpy(&bits, src + i * sizeof(bits), sizeof(bits));
    dst[i] = halfToFloat(bits);
  }
}

void dequantizeBF16(const uint8_t *src, float *dst, size_t blocks) {
  for (size_t i = 0; i < blocks; ++i) {
    uint16_t bits;
    std::memcpy(&bits, src + i * sizeof(bits), sizeof(bits));
    dst[i] = bf16ToFloat(bits);
  }
}

void quantizeF32(const float *src, uint8_t *dst, size_t blocks) {
  std::memcpy(dst, src, blocks * sizeof(float));
}

void quantizeF16(const float *src, uint8_t *dst, size_t blocks) {
  for (size_t i = 0; i < blocks; ++i) {
    const uint16_t bits = floatToHalf(src[i]);
    std::memcpy(dst + i * sizeof(bits), &bits, sizeof(bits));
  }
}

void quantizeBF16(const float *src, uint8_t *dst, size_t blocks) {
  for (size_t i = 0; i < blocks; ++i) {
    const uint16_t bits = floatToBf16(src[i]);
    std::memcpy(dst + i * sizeof(bits), &bits, sizeof(bits));
  }
}

} // namespace quant
} // namespace greta
