//===--- F32 weights: rows of float ---===//
constexpr int kQuantBlockElements = 1;
constexpr int kQuantBlockBytes = 4;

/// Elements [kChunk * chunk, kChunk * (chunk + 1)) of a row.
__device__ __forceinline__ void dequant_chunk(const u8 *row, int chunk, float (&out)[kChunk]) {
  const float *values = reinterpret_cast<const float *>(row) + chunk * kChunk;
#pragma unroll
  for (int i = 0; i < kChunk; ++i)
    out[i] = values[i];
}
