/// The little-endian u16 at `bytes` (2-byte aligned in every ggml block layout).
__device__ __forceinline__ u16 load_u16(const u8 *bytes) {
  return *reinterpret_cast<const u16 *>(bytes);
}
