//===--- Q4_0 (ggml block_q4_0): 32 values = d * (q - 8), q in [0, 15] ---===//
// Block layout, 18 bytes: u16 d | u8 qs[16]; byte j holds value j (low nibble) and value
// j + 16 (high nibble).
constexpr int kQuantBlockElements = 32;
constexpr int kQuantBlockBytes = 18;
constexpr int kQ4_0ScaleOffset = 0;
constexpr int kQ4_0ValuesOffset = 2;
constexpr int kQ4_0Zero = 8;

/// Elements [kChunk * chunk, kChunk * (chunk + 1)) of a row.
__device__ __forceinline__ void dequant_chunk(const u8 *row, int chunk, float (&out)[kChunk]) {
  constexpr int kChunksPerBlock = kQuantBlockElements / kChunk;
  constexpr int kHalf = kQuantBlockElements / 2;
  const u8 *block = row + static_cast<i64>(chunk / kChunksPerBlock) * kQuantBlockBytes;
  const int first = chunk % kChunksPerBlock * kChunk;
  const float d = half_bits_to_float(load_u16(block + kQ4_0ScaleOffset));
  const u8 *qs = block + kQ4_0ValuesOffset + first % kHalf;
  const int shift = first < kHalf ? 0 : 4;
#pragma unroll
  for (int i = 0; i < kChunk; ++i)
    out[i] = d * static_cast<float>(((qs[i] >> shift) & 0x0f) - kQ4_0Zero);
}
