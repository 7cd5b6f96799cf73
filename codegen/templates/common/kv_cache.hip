//===--- KV cache elements: f32, or binary16 bits (u16) ---===//
// A kernel's caches hold `KVValue`s (the emitter's alias from params.kv_dtype): float, or the
// bits of IEEE binary16 values. These overloads read and write either, so a template is written
// once for both: a binary16 store rounds to nearest even (as the CPU backend's does), a load
// widens exactly.
__device__ __forceinline__ float kv_load(const float *at) { return *at; }
__device__ __forceinline__ float kv_load(const u16 *at) { return half_bits_to_float(*at); }

/// Values at .. at + 3 (16-byte aligned for f32 caches, 8-byte for binary16 ones).
__device__ __forceinline__ float4 kv_load4(const float *at) {
  return *reinterpret_cast<const float4 *>(at);
}
__device__ __forceinline__ float4 kv_load4(const u16 *at) {
  const uint2 bits = *reinterpret_cast<const uint2 *>(at);
  return make_float4(half_bits_to_float(static_cast<u16>(bits.x & 0xffffu)),
                     half_bits_to_float(static_cast<u16>(bits.x >> 16)),
                     half_bits_to_float(static_cast<u16>(bits.y & 0xffffu)),
                     half_bits_to_float(static_cast<u16>(bits.y >> 16)));
}

__device__ __forceinline__ void kv_store(float *at, float v) { *at = v; }
__device__ __forceinline__ void kv_store(u16 *at, float v) {
  *at = __half_as_ushort(__float2half_rn(v));
}

/// Stores a pair at at, at + 1 (8-byte aligned for f32 caches, 4-byte for binary16 ones).
__device__ __forceinline__ void kv_store2(float *at, float2 v) {
  *reinterpret_cast<float2 *>(at) = v;
}
__device__ __forceinline__ void kv_store2(u16 *at, float2 v) {
  *reinterpret_cast<u32 *>(at) = pack_f16x2(v.x, v.y);
}

/// Stores four values at at .. at + 3 (aligned as kv_load4's).
__device__ __forceinline__ void kv_store4(float *at, float4 v) {
  *reinterpret_cast<float4 *>(at) = v;
}
__device__ __forceinline__ void kv_store4(u16 *at, float4 v) {
  *reinterpret_cast<uint2 *>(at) = make_uint2(pack_f16x2(v.x, v.y), pack_f16x2(v.z, v.w));
}
