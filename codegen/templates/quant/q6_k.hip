//===--- Q6_K (ggml block_q6_K): 256 values in 16 sub-blocks of 16 ---===//
// value = d * scales[e / 16] * (q - 32), q in [0, 63]. Value e = 128 h + 32 g + l (half h,
// group g = 0..3, l = 0..31) keeps its low four bits in ql[64 h + 32 (g & 1) + l] (nibble
// g >> 1) and its high two bits in qh[32 h + l] (bits 2 g, 2 g + 1).
// Block layout, 210 bytes: u8 ql[128] | u8 qh[64] | i8 scales[16] | u16 d.
constexpr int kQuantBlockElements = 256;
constexpr int kQuantBlockBytes = 210;
constexpr int kQ6_KHighBitsOffset = 128;
constexpr int kQ6_KScalesOffset = 192;
constexpr int kQ6_KScaleOffset = 208;
constexpr int kQ6_KSubBlock = 16;
constexpr int kQ6_KHalf = 128;
constexpr int kQ6_KGroup = 32; // values per (half, group): one byte column of ql and qh
constexpr int kQ6_KZero = 32;

/// Elements [kChunk * chunk, kChunk * (chunk + 1)) of a row. Blocks are 210 bytes, so only
/// 2-byte alignment holds (rows start at even addresses in every caller): a chunk's ql and qh
/// bytes are read as four half-words each, half the load instructions of byte loads.
__device__ __forceinline__ void dequant_chunk(const u8 *row, int chunk, float (&out)[kChunk]) {
  constexpr int kChunksPerBlock = kQuantBlockElements / kChunk;
  static_assert(kQ6_KSubBlock % kChunk == 0, "a chunk lies in one sub-block");
  const u8 *block = row + static_cast<i64>(chunk / kChunksPerBlock) * kQuantBlockBytes;
  const int first = chunk % kChunksPerBlock * kChunk;
  const int h = first / kQ6_KHalf;
  const int g = first % kQ6_KHalf / kQ6_KGroup;
  const int l = first % kQ6_KGroup;
  const float d = half_bits_to_float(load_u16(block + kQ6_KScaleOffset));
  const i8 *scales = reinterpret_cast<const i8 *>(block + kQ6_KScalesOffset);
  const float factor = d * static_cast<float>(scales[first / kQ6_KSubBlock]);
  static_assert(kQuantBlockBytes % 2 == 0 && kQ6_KHighBitsOffset % 2 == 0 && kChunk % 2 == 0,
                "a chunk's ql and qh bytes are whole aligned half-words");
  const u16 *ql = reinterpret_cast<const u16 *>(block + 2 * kQ6_KGroup * h +
                                                kQ6_KGroup * (g & 1) + l);
  const u16 *qh = reinterpret_cast<const u16 *>(block + kQ6_KHighBitsOffset + kQ6_KGroup * h + l);
  const int lowShift = (g >> 1) * 4;
  const int highShift = 2 * g;
#pragma unroll
  for (int i = 0; i < kChunk; i += 2) {
    const u32 low = ql[i / 2], high = qh[i / 2];
#pragma unroll
    for (int j = 0; j < 2; ++j) {
      const int q = static_cast<int>(((low >> (8 * j + lowShift)) & 0x0fu) |
                                     (((high >> (8 * j + highShift)) & 3u) << 4)) -
                    kQ6_KZero;
      out[i + j] = factor * static_cast<float>(q);
    }
  }
}
