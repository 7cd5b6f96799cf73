/// IEEE binary16 bits (ggml's block scales and F16 weights) to float.
__device__ __forceinline__ float half_bits_to_float(u16 bits) {
  return __half2float(__ushort_as_half(bits));
}

/// The little-endian u16 at `bytes` (2-byte aligned in every ggml block layout).
__device__ __forceinline__ u16 load_u16(const u8 *bytes) {
  return *reinterpret_cast<const u16 *>(bytes);
}
