//===--- Q8_0 (ggml block_q8_0): 32 values = d (binary16) * qs[i] (int8) ---===//
// Block layout, 34 bytes: u16 d | i8 qs[32].
constexpr int kQuantBlockElements = 32;
constexpr int kQuantBlockBytes = 34;
constexpr int kQ8_0ScaleOffset = 0;
constexpr int kQ8_0ValuesOffset = 2;

/// Elements [kChunk * chunk, kChunk * (chunk + 1)) of a row.
__device__ __forceinline__ void dequant_chunk(const u8 *row, int chunk, float (&out)[kChunk]) {
  constexpr int kChunksPerBlock = kQuantBlockElements / kChunk;
  const u8 *block = row + static_cast<i64>(chunk / kChunksPerBlock) * kQuantBlockBytes;
  const int first = chunk % kChunksPerBlock * kChunk;
  const float d = half_bits_to_float(load_u16(block + kQ8_0ScaleOffset));
  const i8 *qs = reinterpret_cast<const i8 *>(block + kQ8_0ValuesOffset) + first;
#pragma unroll
  for (int i = 0; i < kChunk; ++i)
    out[i] = d * static_cast<float>(qs[i]);
}
