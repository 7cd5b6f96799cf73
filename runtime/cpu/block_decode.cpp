//===- block_decode.cpp - Fast decoding of weight blocks for the dot products -===//
//
// Each decoder mirrors its reference in formats/quant_*.cpp operation for operation: factors are
// one rounded float product (d * scale), values are factor * level (- offset), with no fused
// multiply-add (the library is built with -ffp-contract=off). Only the loop structure differs.
//
//===----------------------------------------------------------------------===//
#include "runtime/cpu/block_decode.h"

#include "runtime/formats/quant.h"
#include "runtime/formats/quant_blocks.h"
#include "runtime/support/error.h"

#include <array>
#include <bit>
#include <cstring>
#include <memory>

namespace greta::cpu {
namespace {

using namespace greta::quant; // block layouts and sizes (quant_blocks.h)

/// Every binary16 value as float, converted once by the reference halfToFloat.
const float *halfTable() {
  static const std::unique_ptr<float[]> table = [] {
    constexpr size_t kHalfValues = 1u << 16;
    auto values = std::make_unique<float[]>(kHalfValues);
    for (size_t bits = 0; bits < kHalfValues; ++bits)
      values[bits] = halfToFloat(static_cast<uint16_t>(bits));
    return values;
  }();
  return table.get();
}

uint16_t load16(const uint8_t *p) {
  uint16_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

void decodeF32(const uint8_t *src, float *dst, size_t blocks) {
  std::memcpy(dst, src, blocks * sizeof(float));
}

void decodeF16(const uint8_t *src, float *dst, size_t blocks) {
  const float *table = halfTable();
  for (size_t i = 0; i < blocks; ++i)
    dst[i] = table[load16(src + 2 * i)];
}

void decodeBF16(const uint8_t *src, float *dst, size_t blocks) {
  for (size_t i = 0; i < blocks; ++i)
    dst[i] = std::bit_cast<float>(static_cast<uint32_t>(load16(src + 2 * i)) << 16);
}

void decodeQ8_0(const uint8_t *src, float *dst, size_t blocks) {
  const float *table = halfTable();
  for (size_t i = 0; i < blocks; ++i, src += sizeof(BlockQ8_0), dst += kQK8_0) {
    const float d = table[load16(src + offsetof(BlockQ8_0, d))];
    const auto *qs = reinterpret_cast<const int8_t *>(src + offsetof(BlockQ8_0, qs));
    for (size_t j = 0; j < kQK8_0; ++j)
      dst[j] = static_cast<float>(qs[j]) * d;
  }
}

void decodeQ4_0(const uint8_t *src, float *dst, size_t blocks) {
  constexpr size_t kHalf = kQK4_0 / 2;
  constexpr int kOffset = 8;
  const float *table = halfTable();
  for (size_t i = 0; i < blocks; ++i, src += sizeof(BlockQ4_0), dst += kQK4_0) {
    const float d = table[load16(src + offsetof(BlockQ4_0, d))];
    const uint8_t *qs = src + offsetof(BlockQ4_0, qs);
    for (size_t j = 0; j < kHalf; ++j) {
      dst[j] = d * static_cast<float>((qs[j] & 0x0f) - kOffset);
      dst[j + kHalf] = d * static_cast<float>((qs[j] >> 4) - kOffset);
    }
  }
}

/// The 6-bit scale and min of sub-block `s` from Q4_K/Q5_K's 12-byte field (layout in
/// quant_kquants.cpp).
void unpackScaleMin(const uint8_t *packed, size_t s, uint8_t &scale, uint8_t &min) {
  if (s < 4) {
    scale = packed[s] & 0x3f;
    min = packed[s + 4] & 0x3f;
  } else {
    scale = static_cast<uint8_t>((packed[s + 4] & 0x0f) | ((packed[s - 4] >> 6) << 4));
    min = static_cast<uint8_t>((packed[s + 4] >> 4) | ((packed[s] >> 6) << 4));
  }
}

/// Q4_K (fifthBit null) and Q5_K: value = (d * scale) * level - (dmin * min) per sub-block of 32.
template <typename Block, bool kHasFifthBit>
void decodeAffine(const uint8_t *src, float *dst, size_t blocks) {
  const float *table = halfTable();
  for (size_t i = 0; i < blocks; ++i, src += sizeof(Block), dst += kQK_K) {
    const float d = table[load16(src + offsetof(Block, d))];
    const float dmin = table[load16(src + offsetof(Block, dmin))];
    const uint8_t *scales = src + offsetof(Block, scales);
    const uint8_t *qs = src + offsetof(Block, qs);
    for (size_t s = 0; s < kKSubBlocks; ++s) {
      uint8_t scale6, min6;
      unpackScaleMin(scales, s, scale6, min6);
      const float scale = d * static_cast<float>(scale6);
      const float offset = dmin * static_cast<float>(min6);
      const uint8_t *nibbles = qs + (s / 2) * kKSubBlock;
      const unsigned shift = static_cast<unsigned>(s % 2) * 4;
      float *out = dst + s * kKSubBlock;
      if constexpr (kHasFifthBit) {
        const uint8_t *qh = src + offsetof(Block, qh);
        for (size_t l = 0; l < kKSubBlock; ++l)
          out[l] =
              scale * static_cast<float>(((nibbles[l] >> shift) & 0x0f) | ((qh[l] >> s) & 1) << 4) -
              offset;
      } else {
        for (size_t l = 0; l < kKSubBlock; ++l)
          out[l] = scale * static_cast<float>((nibbles[l] >> shift) & 0x0f) - offset;
      }
    }
  }
}

/// Q6_K: value = (d * scale[e / 16]) * (level - 32); bit placement in quant_kquants.cpp.
void decodeQ6_K(const uint8_t *src, float *dst, size_t blocks) {
  constexpr size_t kHalf = 128, kGroup = 32, kGroups = 4;
  constexpr int kLevelOffset = 32;
  const float *table = halfTable();
  for (size_t i = 0; i < blocks; ++i, src += sizeof(BlockQ6_K), dst += kQK_K) {
    const float d = table[load16(src + offsetof(BlockQ6_K, d))];
    const auto *subScales = reinterpret_cast<const int8_t *>(src + offsetof(BlockQ6_K, scales));
    float scales[kQ6KSubBlocks];
    for (size_t s = 0; s < kQ6KSubBlocks; ++s)
      scales[s] = d * static_cast<float>(subScales[s]);
    for (size_t h = 0; h < kQK_K / kHalf; ++h) {
      const uint8_t *ql = src + offsetof(BlockQ6_K, ql) + 64 * h;
      const uint8_t *qh = src + offsetof(BlockQ6_K, qh) + 32 * h;
      for (size_t g = 0; g < kGroups; ++g) {
        const uint8_t *low = ql + 32 * (g & 1);
        const unsigned lowShift = static_cast<unsigned>(g >> 1) * 4;
        const unsigned highShift = static_cast<unsigned>(g) * 2;
        const size_t first = kHalf * h + kGroup * g;
        // A group of 32 spans two sub-blocks of 16, each with its own scale.
        for (size_t part = 0; part < 2; ++part) {
          const float scale = scales[(first + part * kQ6KSubBlock) / kQ6KSubBlock];
          for (size_t j = 0; j < kQ6KSubBlock; ++j) {
            const size_t l = part * kQ6KSubBlock + j;
            const int level =
                (((low[l] >> lowShift) & 0x0f) | ((qh[l] >> highShift) & 0x03) << 4) - kLevelOffset;
            dst[first + l] = scale * static_cast<float>(level);
          }
        }
      }
    }
  }
}

} // namespace

BlockDecoder blockDecoder(TensorType type) {
  switch (type) {
  case TensorType::F32:
    return decodeF32;
  case TensorType::F16:
    return decodeF16;
  case TensorType::BF16:
    return decodeBF16;
  case TensorType::Q8_0:
    return decodeQ8_0;
  case TensorType::Q4_0:
    return decodeQ4_0;
  case TensorType::Q4_K:
    return decodeAffine<BlockQ4_K, false>;
  case TensorType::Q5_K:
    return decodeAffine<BlockQ5_K, true>;
  case TensorType::Q6_K:
    return decodeQ6_K;
  default:
    break;
  }
  fail("the CPU backend does not compute with tensor type {} (it reads F32, F16, BF16, Q8_0, "
       "Q4_0, Q4_K, Q5_K, Q6_K)",
       nameOf(type));
}

} // namespace greta::cpu
