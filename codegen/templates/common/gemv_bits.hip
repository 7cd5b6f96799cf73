//===--- Bit helpers of the gemv decoders (templates/quant_gemv/*.hip) ---===//

/// The `width`-bit field of `word` at bit `bit`, moved to bit `at` (other bits clear).
__device__ __forceinline__ u32 field_at(u32 word, int bit, int width, int at) {
  const u32 placed = bit <= at ? word << (at - bit) : word >> (bit - at);
  return placed & (((1u << width) - 1u) << at);
}

/// The unsigned `width`-bit field of `word` at bit `bit`, as the float 1 + q / 2^width (exact):
/// the field lands at the top of the mantissa of 1.0f with one shift and one mask, so decoding
/// costs no conversion instruction. Callers recover Σ q·x as 2^width · (Σ f·x − Σ x): f lies in
/// [1, 2), so the difference loses no more than a few bits to cancellation. `bit` and `width`
/// are constants after unrolling.
__device__ __forceinline__ float unit_from_bits(u32 word, int bit, int width) {
  return __uint_as_float(0x3f800000u | field_at(word, bit, width, 23 - width));
}

/// Byte k of `bytes` as a float (exact): one byte permute places it in the mantissa of 2^23,
/// and subtracting 2^23 leaves it. Two full-rate instructions, where an integer-to-float
/// conversion issues at a quarter of the rate (the decoders' scales are bytes).
__device__ __forceinline__ float float_from_byte(u32 bytes, int k) {
  constexpr u32 kTwoTo23Bits = 0x4b000000u;
  constexpr float kTwoTo23 = 8388608.0f;
  return __uint_as_float(__byte_perm(bytes, kTwoTo23Bits, 0x7540u | k)) - kTwoTo23;
}

/// Byte k of `bytes`, read as a signed byte, as a float (exact): float_from_byte of it with
/// the sign bit flipped (v + 128), less 128.
__device__ __forceinline__ float float_from_signed_byte(u32 bytes, int k) {
  constexpr u32 kSignBits = 0x80808080u;
  constexpr float kBias = 128.0f;
  return float_from_byte(bytes ^ kSignBits, k) - kBias;
}

/// The 16 bytes at `bytes` as four little-endian words, where `bytes` is only 2-byte aligned
/// (ggml's 34-byte Q8_0 blocks), from the aligned 16-byte loads that cover them. Lanes reading
/// consecutive pieces read consecutive aligned words, so the loads stay coalesced; a lane's
/// second load is its neighbour's first (served by L1). An aligned address reads one load only,
/// never the 16 bytes past it.
__device__ __forceinline__ uint4 load_16_unaligned(const u8 *bytes) {
  const u32 offset = static_cast<u32>(reinterpret_cast<u64>(bytes)) & 15u;
  const uint4 *aligned = reinterpret_cast<const uint4 *>(bytes - offset);
  const uint4 low = aligned[0];
  if (offset == 0)
    return low;
  const uint4 high = aligned[1];
  const u32 words[8] = {low.x, low.y, low.z, low.w, high.x, high.y, high.z, high.w};
  const u32 first = offset / 4;
  const u32 shift = offset % 4 * 8;
  u32 picked[5];
#pragma unroll
  for (int i = 0; i < 5; ++i) // words[first + i] without a dynamically indexed array
    picked[i] = first == 0   ? words[i]
                : first == 1 ? words[i + 1]
                : first == 2 ? words[i + 2]
                             : words[i + 3];
  constexpr int kWordBits = 8 * sizeof(u32);
  u32 out[4];
#pragma unroll
  for (int i = 0; i < 4; ++i) // a funnel shift of two neighbouring words
    out[i] = static_cast<u32>(((static_cast<u64>(picked[i + 1]) << kWordBits) | picked[i]) >> shift);
  return make_uint4(out[0], out[1], out[2], out[3]);
}

/// Four input values from a float4.
__device__ __forceinline__ void unpack4(const float4 v, float *to) {
  to[0] = v.x;
  to[1] = v.y;
  to[2] = v.z;
  to[3] = v.w;
}
