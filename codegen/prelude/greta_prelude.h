//===- greta_prelude.h - Device-code prelude of every GRETA kernel -------------===//
//
// Every kernel the code generator emits starts with `#include "greta_prelude.h"`. The runtime
// hands this file to the run-time compiler as an in-memory header — hipRTC on AMD, NVRTC on
// NVIDIA (runtime/hip/kernel_compiler.h) — so kernels are written once, in HIP C++, and the few
// device-side differences between the platforms live here:
//   - the warp size: GRETA_WARP_SIZE comes from the target (64 on CDNA, 32 on NVIDIA), never a
//     literal in a kernel;
//   - shuffles: HIP's __shfl_xor(v, mask, width) vs CUDA's __shfl_xor_sync(lanes, v, mask, width);
//   - fp16: hipRTC has HIP's __half built in; NVRTC needs <cuda_fp16.h> (the runtime passes
//     -I<CUDA include folder>).
// Neither compiler has the C++ standard headers, so fixed-width integer names are defined here.
//
// The kernel compiler defines GRETA_WARP_SIZE and exactly one of GRETA_TARGET_AMD and
// GRETA_TARGET_NVIDIA.
//
//===----------------------------------------------------------------------===//
#pragma once

#if !defined(GRETA_WARP_SIZE)
#error "GRETA_WARP_SIZE must be defined by the kernel compiler, from the target"
#endif
#if defined(GRETA_TARGET_AMD) == defined(GRETA_TARGET_NVIDIA)
#error "define exactly one of GRETA_TARGET_AMD and GRETA_TARGET_NVIDIA"
#endif

#if defined(GRETA_TARGET_NVIDIA)
#include <cuda_fp16.h>
#endif

/// Declares a kernel entry point with an unmangled name and the block size it is compiled for:
///   GRETA_KERNEL(256) rms_norm_0(const float *x, float *out) { ... }
#define GRETA_KERNEL(max_block_threads)                                                            \
  extern "C" __global__ void __launch_bounds__(max_block_threads)

namespace greta {

using i8 = signed char;
using u8 = unsigned char;
using i16 = short;
using u16 = unsigned short;
using i32 = int;
using u32 = unsigned int;
using i64 = long long;
using u64 = unsigned long long;
static_assert(sizeof(i16) == 2 && sizeof(i32) == 4 && sizeof(i64) == 8, "integer widths");

constexpr int kWarpSize = GRETA_WARP_SIZE;
static_assert(kWarpSize == 32 || kWarpSize == 64, "warp size is 32 (NVIDIA) or 64 (CDNA)");

__device__ __forceinline__ int lane_id() { return static_cast<int>(threadIdx.x) % kWarpSize; }
__device__ __forceinline__ int warp_id() { return static_cast<int>(threadIdx.x) / kWarpSize; }

/// `value` of the lane whose id is this lane's id XOR `lane_mask`; all lanes take part.
template <typename T> __device__ __forceinline__ T shfl_xor(T value, int lane_mask) {
#if defined(GRETA_TARGET_NVIDIA)
  return __shfl_xor_sync(0xffffffffu, value, lane_mask, kWarpSize);
#else
  return __shfl_xor(value, lane_mask, kWarpSize);
#endif
}

/// Sum over the warp; every lane receives it.
template <typename T> __device__ __forceinline__ T warp_reduce_sum(T value) {
#pragma unroll
  for (int offset = kWarpSize / 2; offset > 0; offset /= 2)
    value += shfl_xor(value, offset);
  return value;
}

/// Maximum over the warp; every lane receives it.
template <typename T> __device__ __forceinline__ T warp_reduce_max(T value) {
#pragma unroll
  for (int offset = kWarpSize / 2; offset > 0; offset /= 2) {
    T other = shfl_xor(value, offset);
    value = other > value ? other : value;
  }
  return value;
}

/// Sum over a block of `kBlockThreads` threads (a multiple of the warp size); every thread
/// receives it. `scratch` is __shared__ storage for kBlockThreads / kWarpSize values; the call
/// ends with a barrier, so the caller may reuse it at once.
template <int kBlockThreads, typename T>
__device__ __forceinline__ T block_reduce_sum(T value, T *scratch) {
  static_assert(kBlockThreads % kWarpSize == 0, "block size must be a multiple of the warp");
  constexpr int kWarps = kBlockThreads / kWarpSize;
  value = warp_reduce_sum(value);
  if constexpr (kWarps == 1)
    return value;
  if (lane_id() == 0)
    scratch[warp_id()] = value;
  __syncthreads();
  T total = lane_id() < kWarps ? scratch[lane_id()] : T(0);
  total = warp_reduce_sum(total);
  __syncthreads();
  return total;
}

/// Maximum over a block; as block_reduce_sum. `lowest` fills the lanes beyond the warp count.
template <int kBlockThreads, typename T>
__device__ __forceinline__ T block_reduce_max(T value, T *scratch, T lowest) {
  static_assert(kBlockThreads % kWarpSize == 0, "block size must be a multiple of the warp");
  constexpr int kWarps = kBlockThreads / kWarpSize;
  value = warp_reduce_max(value);
  if constexpr (kWarps == 1)
    return value;
  if (lane_id() == 0)
    scratch[warp_id()] = value;
  __syncthreads();
  T best = lane_id() < kWarps ? scratch[lane_id()] : lowest;
  best = warp_reduce_max(best);
  __syncthreads();
  return best;
}

} // namespace greta
