//===--- Q4_K (ggml block_q4_K): 256 values in 8 sub-blocks of 32 ---===//
// value = d * scale[s] * q - dmin * min[s] for sub-block s, q in [0, 15].
// Block layout, 144 bytes: u16 d | u16 dmin | u8 scales[12] (8 six-bit scales and mins) |
// u8 qs[128]; each 32-byte run of qs holds sub-block 2c (low nibbles) and 2c + 1 (high).
constexpr int kQuantBlockElements = 256;
constexpr int kQuantBlockBytes = 144;
constexpr int kQ4_KScalesOffset = 4;
constexpr int kQ4_KValuesOffset = 16;
constexpr int kKSubBlock = 32;

/// The six-bit scale and min of sub-block `s` from the 12 packed bytes:
///   s < 4: scale = b[s] & 0x3f,                         min = b[s + 4] & 0x3f;
///   s ≥ 4: scale = b[s + 4] & 15 | (b[s - 4] >> 6) << 4, min = b[s + 4] >> 4 | (b[s] >> 6) << 4.
/// (Branch-free: the three bytes either case reads are loaded unconditionally, s & 3 = s - 4 for
/// s >= 4, so a caller's loads are not split across branches.)
__device__ __forceinline__ void unpack_scale_min(const u8 *packed, int s, int &scale, int &min) {
  const int a = packed[s], b = packed[s + 4], c = packed[s & 3];
  scale = s < 4 ? a & 0x3f : (b & 0x0f) | ((c >> 6) << 4);
  min = s < 4 ? b & 0x3f : (b >> 4) | ((a >> 6) << 4);
}

/// Elements [kChunk * chunk, kChunk * (chunk + 1)) of a row. Rows are whole 144-byte blocks
/// from an address aligned to at least 8 bytes (buffers, GGUF data and staged tiles are), so a
/// chunk's eight qs bytes are one 8-byte load and d, dmin one 4-byte load: the decoder is bound
/// by load instructions (dequant_f16 decodes every weight of a prefill), not bytes.
__device__ __forceinline__ void dequant_chunk(const u8 *row, int chunk, float (&out)[kChunk]) {
  constexpr int kChunksPerBlock = kQuantBlockElements / kChunk;
  static_assert(kChunk == 8 && kQuantBlockBytes % 8 == 0 && kQ4_KValuesOffset % 8 == 0,
                "a chunk's qs bytes are one aligned 8-byte word pair");
  const u8 *block = row + static_cast<i64>(chunk / kChunksPerBlock) * kQuantBlockBytes;
  const int first = chunk % kChunksPerBlock * kChunk; // within the block
  const int s = first / kKSubBlock;
  int scale, min;
  unpack_scale_min(block + kQ4_KScalesOffset, s, scale, min);
  const u32 dBits = *reinterpret_cast<const u32 *>(block); // d | dmin
  const float factor = half_bits_to_float(static_cast<u16>(dBits & 0xffffu)) * static_cast<float>(scale);
  const float offset = half_bits_to_float(static_cast<u16>(dBits >> 16)) * static_cast<float>(min);
  const uint2 qs = *reinterpret_cast<const uint2 *>(block + kQ4_KValuesOffset +
                                                     s / 2 * kKSubBlock + first % kKSubBlock);
  const int shift = s % 2 * 4;
#pragma unroll
  for (int i = 0; i < kChunk; ++i) {
    const u32 word = i < 4 ? qs.x : qs.y;
    out[i] = factor * static_cast<float>((word >> (8 * (i % 4) + shift)) & 0x0f) - offset;
  }
}
