//===- quant_blocks.h - ggml block layouts and per-type row codecs ---------===//
//
// Internal to greta_quant. The byte layout of each quantized block GRETA computes with, as structs
// whose sizes are checked against ggml's, and the codec of each type over a run of whole blocks.
// quant.cpp validates sizes and dispatches; the codecs trust their arguments.
//
// Blocks are read and written through memcpy into these structs, so rows need no alignment (a
// Q8_0 block is 34 bytes: consecutive blocks in a GGUF file are only 2-byte aligned).
//
//===----------------------------------------------------------------------===//
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>

namespace greta::quant {

static_assert(std::endian::native == std::endian::little,
              "ggml blocks are little-endian and are decoded in place");

/// Elements per block of the legacy 32-element types.
inline constexpr size_t kQK8_0 = 32;
inline constexpr size_t kQK4_0 = 32;
/// Elements per K-quant super-block.
inline constexpr size_t kQK_K = 256;
/// Q4_K/Q5_K split a super-block into sub-blocks of 32, each with a 6-bit scale and min.
inline constexpr size_t kKSubBlock = 32;
inline constexpr size_t kKSubBlocks = kQK_K / kKSubBlock;
/// 8 six-bit scales + 8 six-bit mins packed into 12 bytes.
inline constexpr size_t kQ4KScaleBytes = 12;
/// Q6_K splits a super-block into sub-blocks of 16, each with an 8-bit signed scale.
inline constexpr size_t kQ6KSubBlock = 16;
inline constexpr size_t kQ6KSubBlocks = kQK_K / kQ6KSubBlock;

/// Q8_0: x = d * q, q in [-127, 127].
struct BlockQ8_0 {
  uint16_t d; ///< binary16 scale
  int8_t qs[kQK8_0];
};
static_assert(sizeof(BlockQ8_0) == 34);

/// Q4_0: x = d * (q - 8); byte j holds element j (low nibble) and element j + 16 (high nibble).
struct BlockQ4_0 {
  uint16_t d;
  uint8_t qs[kQK4_0 / 2];
};
static_assert(sizeof(BlockQ4_0) == 18);

/// Q4_K: x = d * scale[s] * q - dmin * min[s] for sub-block s, q in [0, 15]. Each 32-byte run of
/// `qs` holds two sub-blocks: 2c in the low nibbles, 2c + 1 in the high nibbles.
struct BlockQ4_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[kQ4KScaleBytes];
  uint8_t qs[kQK_K / 2];
};
static_assert(sizeof(BlockQ4_K) == 144);

/// Q5_K: Q4_K's layout plus a fifth bit per element: bit s of qh[l] is element l of sub-block s.
struct BlockQ5_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[kQ4KScaleBytes];
  uint8_t qh[kQK_K / 8];
  uint8_t qs[kQK_K / 2];
};
static_assert(sizeof(BlockQ5_K) == 176);

/// Q6_K: x = d * scales[s] * (q - 32) for sub-block s of 16, q in [0, 63]: low 4 bits in ql,
/// high 2 bits in qh (see quant_kquants.cpp for the interleaving).
struct BlockQ6_K {
  uint8_t ql[kQK_K / 2];
  uint8_t qh[kQK_K / 4];
  int8_t scales[kQ6KSubBlocks];
  uint16_t d;
};
static_assert(sizeof(BlockQ6_K) == 210);

// Codecs: `blocks` whole blocks (one element per "block" for the float types) from `src` to
// `dst`. Quantizers expect finite input (quant.cpp checks).
void dequantizeF32(const uint8_t *src, float *dst, size_t blocks);
void dequantizeF16(const uint8_t *src, float *dst, size_t blocks);
void dequantizeBF16(const uint8_t *src, float *dst, size_t blocks);
void dequantizeQ8_0(const uint8_t *src, float *dst, size_t blocks);
void dequantizeQ4_0(const uint8_t *src, float *dst, size_t blocks);
void dequantizeQ4_K(const uint8_t *src, float *dst, size_t blocks);
void dequantizeQ5_K(const uint8_t *src, float *dst, size_t blocks);
void dequantizeQ6_K(const uint8_t *src, float *dst, size_t blocks);

void quantizeF32(const float *src, uint8_t *dst, size_t blocks);
void quantizeF16(const float *src, uint8_t *dst, size_t blocks);
void quantizeBF16(const float *src, uint8_t *dst, size_t blocks);
void quantizeQ8_0(const float *src, uint8_t *dst, size_t blocks);
void quantizeQ4_0(const float *src, uint8_t *dst, size_t blocks);
void quantizeQ4_K(const float *src, uint8_t *dst, size_t blocks);
void quantizeQ5_K(const float *src, uint8_t *dst, size_t blocks);
void quantizeQ6_K(const float *src, uint8_t *dst, size_t blocks);

} // namespace greta::quant
