//===--- Q5_K (ggml block_q5_K): Q4_K's layout plus a fifth bit per value ---===//
// value = d * scale[s] * q - dmin * min[s], q in [0, 31]: the low four bits as in Q4_K, the
// fifth is bit s of qh[l] for value l of sub-block s.
// Block layout, 176 bytes: u16 d | u16 dmin | u8 scales[12] | u8 qh[32] | u8 qs[128].
constexpr int kQuantBlockElements = 256;
constexpr int kQuantBlockBytes = 176;
constexpr int kQ5_KScalesOffset = 4;
constexpr int kQ5_KHighBitsOffset = 16;
constexpr int kQ5_KValuesOffset = 48;
constexpr int kKSubBlock = 32;

/// The six-bit scale and min of sub-block `s` (the packing of Q4_K).
__device__ __forceinline__ void unpack_scale_min(const u8 *packed, int s, int &scale, int &min) {
  if (s < 4) {
    scale = packed[s] & 0x3f;
    min = packed[s + 4] & 0x3f;
  } else {
    scale = (packed[s + 4] & 0x0f) | ((packed[s - 4] >> 6) << 4);
    min = (packed[s + 4] >> 4) | ((packed[s] >> 6) << 4);
  }
}

/// Elements [kChunk * chunk, kChunk * (chunk + 1)) of a row.
__device__ __forceinline__ void dequant_chunk(const u8 *row, int chunk, float (&out)[kChunk]) {
  constexpr int kChunksPerBlock = kQuantBlockElements / kChunk;
  const u8 *block = row + static_cast<i64>(chunk / kChunksPerBlock) * kQuantBlockBytes;
  const int first = chunk % kChunksPerBlock * kChunk;
  const int s = first / kKSubBlock;
  const int l = first % kKSubBlock;
  int scale, min;
  unpack_scale_min(block + kQ5_KScalesOffset, s, scale, min);
  const float factor = half_bits_to_float(load_u16(block)) * static_cast<float>(scale);
  const float offset = half_bits_to_float(load_u16(block + 2)) * static_cast<float>(min);
  const u8 *qs = block + kQ5_KValuesOffset + s / 2 * kKSubBlock + l;
  const u8 *qh = block + kQ5_KHighBitsOffset + l;
  const int shift = s % 2 * 4;
#pragma unroll
  for (int i = 0; i < kChunk; ++i) {
    const int q = ((qs[i] >> shift) & 0x0f) | (((qh[i] >> s) & 1) << 4);
    out[i] = factor * static_cast<float>(q) - offset;
  }
}
