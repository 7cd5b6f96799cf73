//===--- F16 weights (GGUF F16, or f16_rows dequantized at bundle time): rows of binary16 ---===//
constexpr int kQuantBlockElements = 1;
constexpr int kQuantBlockBytes = 2;

/// Elements [kChunk * chunk, kChunk * (chunk + 1)) of a row.
__device__ __forceinline__ void dequant_chunk(const u8 *row, int chunk, float (&out)[kChunk]) {
  const u8 *values = row + chunk * kChunk * 2;
#pragma unroll
  for (int i = 0; i < kChunk; ++i)
    out[i] = half_bits_to_float(load_u16(values + 2 * i));
}
