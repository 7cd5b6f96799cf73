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
//     -I<CUDA include folder>);
//   - the matrix instruction of the gemm route (mma.sync on NVIDIA, MFMA on CDNA): its tile
//     shape (kMmaM, kMmaN, kMmaK), operand loads and accumulator layout, at the end.
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

/// As GRETA_KERNEL, asking the compiler to fit `min_blocks` blocks on a compute unit (it caps
/// registers accordingly): for kernels whose latency hiding needs more than one block.
#define GRETA_KERNEL_BLOCKS(max_block_threads, min_blocks)                                         \
  extern "C" __global__ void __launch_bounds__(max_block_threads, min_blocks)

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

/// `value` of lane `src_lane`; all lanes take part.
template <typename T> __device__ __forceinline__ T shfl(T value, int src_lane) {
#if defined(GRETA_TARGET_NVIDIA)
  return __shfl_sync(0xffffffffu, value, src_lane, kWarpSize);
#else
  return __shfl(value, src_lane, kWarpSize);
#endif
}

/// Orders the warp's shared-memory accesses: what a lane wrote before it is visible to every
/// lane of the warp after it. All lanes take part.
__device__ __forceinline__ void warp_sync() {
#if defined(GRETA_TARGET_NVIDIA)
  __syncwarp();
#else
  __builtin_amdgcn_fence(__ATOMIC_RELEASE, "wavefront");
  __builtin_amdgcn_wave_barrier();
  __builtin_amdgcn_fence(__ATOMIC_ACQUIRE, "wavefront");
#endif
}

/// IEEE binary16 bits (ggml's block scales, F16 weights, binary16 KV caches) to float: exact.
/// A template only for old bundles: a bundle's kernel sources are compiled against the current
/// prelude, and those emitted before this function moved here (session 8) define a plain
/// half_bits_to_float(u16) of their own, which overload resolution then prefers to this one
/// rather than finding the call ambiguous (test/unit/codegen/emitted_kernels_test.cpp compiles
/// such a source).
template <typename Bits> __device__ __forceinline__ float half_bits_to_float(Bits bits) {
  static_assert(sizeof(Bits) == 2 && Bits(-1) > Bits(0), "binary16 bits are a u16");
  return __half2float(__ushort_as_half(bits));
}

/// Early start (programmatic dependent launch, NVIDIA sm_90 and later). The runtime may launch
/// a kernel whose manifest entry says `early_start` while the launch before it on the stream is
/// still running, so that the new kernel's blocks are resident, and its weight loads in flight,
/// by the time its producer finishes. Such a kernel calls this before it reads anything an
/// earlier launch writes and before it writes anything an earlier launch reads or writes: it
/// returns once every earlier launch has finished and its writes are visible. It then lets the
/// next launch's blocks start in turn (after the wait, not before, so that only one launch
/// waits ahead of the running one). Called by every thread of the block, at most once; a block
/// that touches no memory may return without it, so long as some block of the launch calls it
/// (a launch finishes only when all its blocks have, which chains each launch after the one
/// before its producer). Elsewhere (AMD, older NVIDIA, a plain launch) the launch order alone
/// orders the kernels and this does nothing.
__device__ __forceinline__ void wait_for_producers() {
#if defined(GRETA_TARGET_NVIDIA) && defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
  asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}

/// For a kernel the runtime launches only once the launch before it has finished (no
/// `early_start`): lets the next launch's blocks start early, as wait_for_producers does after
/// its wait. Two decode kernels are launched so, as measured (H200): split-KV attention (started
/// early, its blocks waited on the compute units through the q/k/v GEMV: pp2048+tg128 2,460 vs
/// 2,580 tok/s) and the gate_up GEMV (tg128 355 vs 365 tok/s).
__device__ __forceinline__ void let_dependents_start() {
#if defined(GRETA_TARGET_NVIDIA) && defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}

/// (x & mask) ^ flip in one instruction on NVIDIA (lop3; the compiler's own combining splits
/// it in two, as SASS takes one immediate operand and it does not keep the second constant in
/// a register). The decoders use it to move quantised fields into signed bytes.
__device__ __forceinline__ u32 and_xor(u32 x, u32 mask, u32 flip) {
#if defined(GRETA_TARGET_NVIDIA) && defined(__CUDA_ARCH__)
  u32 out;
  constexpr int kAndXor = (0xf0 & 0xcc) ^ 0xaa; // lop3's table for (a & b) ^ c
  asm("lop3.b32 %0, %1, %2, %3, %4;" : "=r"(out) : "r"(x), "r"(mask), "r"(flip), "n"(kAndXor));
  return out;
#else
  return (x & mask) ^ flip;
#endif
}

/// acc + Σ over i < 2 of int16 i of `pairs` · byte (i + 2 · high) of `bytes`, all signed: two
/// multiply-adds of a 16-bit and an 8-bit integer in one instruction on NVIDIA (dp2a), for
/// decoders that take nibbles as bytes and the input as int16. AMD has no mixed-width dot
/// product on the targets we build for, so there it is two integer multiply-adds.
template <bool kHigh>
__device__ __forceinline__ int dot2_i16_i8(u32 pairs, u32 bytes, int acc) {
#if defined(GRETA_TARGET_NVIDIA)
  int out;
  if constexpr (kHigh)
    asm("dp2a.hi.s32.s32 %0, %1, %2, %3;" : "=r"(out) : "r"(pairs), "r"(bytes), "r"(acc));
  else
    asm("dp2a.lo.s32.s32 %0, %1, %2, %3;" : "=r"(out) : "r"(pairs), "r"(bytes), "r"(acc));
  return out;
#else
  constexpr int kShift = kHigh ? 16 : 0;
  const int x0 = static_cast<short>(pairs & 0xffffu), x1 = static_cast<short>(pairs >> 16);
  const int b0 = static_cast<i8>(bytes >> kShift), b1 = static_cast<i8>(bytes >> (kShift + 8));
  return acc + x0 * b0 + x1 * b1;
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

//===--- Asynchronous copies from global to shared memory ---===//
// A thread starts 16-byte copies (copy_async_16), closes them into a group (copy_async_commit)
// and later waits until at most `kPending` of its newest groups are still in flight
// (copy_async_wait); a __syncthreads after the wait makes every thread's copies visible. On
// NVIDIA (sm_80+) the copies bypass registers (cp.async.cg: through L2 only, as streamed data);
// elsewhere a copy is a plain load and store, complete when it returns, and the group calls
// do nothing.
__device__ __forceinline__ void copy_async_16(void *shared, const void *global) {
#if defined(GRETA_TARGET_NVIDIA) && defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;"
               :
               : "r"(static_cast<unsigned>(__cvta_generic_to_shared(shared))), "l"(global)
               : "memory");
#else
  *reinterpret_cast<uint4 *>(shared) = *reinterpret_cast<const uint4 *>(global);
#endif
}

__device__ __forceinline__ void copy_async_commit() {
#if defined(GRETA_TARGET_NVIDIA) && defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.commit_group;" ::: "memory");
#endif
}

template <int kPending> __device__ __forceinline__ void copy_async_wait() {
#if defined(GRETA_TARGET_NVIDIA) && defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.wait_group %0;" ::"n"(kPending) : "memory");
#endif
}

//===--- Matrix units: one warp multiplies a kMmaM x kMmaK tile by a kMmaK x kMmaN tile ---===//
// The matrix instruction is the target's, chosen here from the target macros (a bundle's kernel
// source is shared by every GPU it lists); templates read its shape from these constants and
// never spell it:
//   NVIDIA (sm_80+): mma.sync m16n8k16, f16 x f16 -> f32, operands from shared memory by ldmatrix;
//   AMD CDNA (wave64): v_mfma_f32_16x16x16f16.
// Operands live in shared memory as IEEE binary16 bits (u16), row-major with K contiguous:
//   A: kMmaM rows (tokens) of kMmaK values, B: kMmaN rows (weight rows, i.e. output columns) of
//   kMmaK values; `stride` is the distance between rows in elements, a multiple of 8 (16-byte
//   aligned rows, as ldmatrix needs). The product accumulates C[m][n] += sum_k A[m][k] B[n][k]
//   in f32; element e of a lane's accumulator is C[mma_acc_row(e)][mma_acc_col(e)].
#if defined(GRETA_TARGET_NVIDIA)
constexpr int kMmaM = 16;
constexpr int kMmaN = 8;
constexpr int kMmaK = 16;
constexpr int kMmaAccElements = 4;
struct MmaA {
  u32 r[4];
};
struct MmaB {
  u32 r[2];
};
struct MmaAcc {
  float v[kMmaAccElements] = {};
};

__device__ __forceinline__ u32 shared_address(const void *pointer) {
  return static_cast<u32>(__cvta_generic_to_shared(pointer));
}

/// A from `tile` (its row 0, k 0): lanes 0-15 address rows 0-15 at k 0, lanes 16-31 at k 8;
/// the four 8x8 matrices land in the registers in mma's A order.
__device__ __forceinline__ void mma_load_a(MmaA &a, const u16 *tile, int stride) {
  const int lane = lane_id();
  const u16 *row = tile + (lane % 16) * stride + lane / 16 * 8;
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];"
               : "=r"(a.r[0]), "=r"(a.r[1]), "=r"(a.r[2]), "=r"(a.r[3])
               : "r"(shared_address(row)));
}

/// B from `tile` (its row n 0, k 0): lanes 0-7 address rows 0-7 at k 0, lanes 8-15 at k 8
/// (the other lanes repeat them; .x2 reads the first 16 addresses).
__device__ __forceinline__ void mma_load_b(MmaB &b, const u16 *tile, int stride) {
  const int lane = lane_id() % 16;
  const u16 *row = tile + (lane % 8) * stride + lane / 8 * 8;
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0, %1}, [%2];"
               : "=r"(b.r[0]), "=r"(b.r[1])
               : "r"(shared_address(row)));
}

/// B from `tile` stored the other way round, k-major (its row k 0, column n 0: a row holds
/// consecutive n): lanes 0-15 address rows k 0-15, and .trans hands each lane its column.
__device__ __forceinline__ void mma_load_b_trans(MmaB &b, const u16 *tile, int stride) {
  const u16 *row = tile + (lane_id() % 16) * stride;
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16 {%0, %1}, [%2];"
               : "=r"(b.r[0]), "=r"(b.r[1])
               : "r"(shared_address(row)));
}

__device__ __forceinline__ void mma(MmaAcc &c, const MmaA &a, const MmaB &b) {
  asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
      "{%8, %9}, {%0, %1, %2, %3};"
      : "+f"(c.v[0]), "+f"(c.v[1]), "+f"(c.v[2]), "+f"(c.v[3])
      : "r"(a.r[0]), "r"(a.r[1]), "r"(a.r[2]), "r"(a.r[3]), "r"(b.r[0]), "r"(b.r[1]));
}

/// Lane l holds rows l / 4 and l / 4 + 8, columns 2 (l % 4) and 2 (l % 4) + 1.
__device__ __forceinline__ int mma_acc_row(int e) { return lane_id() / 4 + e / 2 * 8; }
__device__ __forceinline__ int mma_acc_col(int e) { return lane_id() % 4 * 2 + e % 2; }
/// The rows of a lane's accumulator: kMmaAccRows of them, element e in row slot
/// mma_acc_slot(e); the kMmaRowLanes neighbouring lanes (an aligned group) hold the same rows'
/// other columns, so a row reduces over shuffles with masks below kMmaRowLanes.
constexpr int kMmaAccRows = 2;
constexpr int kMmaRowLanes = 4;
__device__ __forceinline__ int mma_acc_slot(int e) { return e / 2; }

/// Two floats as binary16 (round to nearest even), `low` in the low half.
__device__ __forceinline__ u32 pack_f16x2(float low, float high) {
  return static_cast<u32>(__half_as_ushort(__float2half_rn(low))) |
         static_cast<u32>(__half_as_ushort(__float2half_rn(high))) << 16;
}
#else
static_assert(kWarpSize == 64, "the MFMA route runs whole wave64 wavefronts");
constexpr int kMmaM = 16;
constexpr int kMmaN = 16;
constexpr int kMmaK = 16;
constexpr int kMmaAccElements = 4;
typedef _Float16 MmaHalf4 __attribute__((ext_vector_type(4)));
typedef float MmaFloat4 __attribute__((ext_vector_type(4)));
struct MmaA {
  MmaHalf4 v;
};
struct MmaB {
  MmaHalf4 v;
};
struct MmaAcc {
  MmaFloat4 v = {0.0f, 0.0f, 0.0f, 0.0f};
};

/// Lane l holds row (A) or column (B) l % 16, k 4 (l / 16) .. 4 (l / 16) + 3.
__device__ __forceinline__ void mma_load_a(MmaA &a, const u16 *tile, int stride) {
  const int lane = lane_id();
  a.v = *reinterpret_cast<const MmaHalf4 *>(tile + (lane % 16) * stride + lane / 16 * 4);
}
__device__ __forceinline__ void mma_load_b(MmaB &b, const u16 *tile, int stride) {
  const int lane = lane_id();
  b.v = *reinterpret_cast<const MmaHalf4 *>(tile + (lane % 16) * stride + lane / 16 * 4);
}

/// B from a k-major tile (row k, column n): lane l gathers column l % 16 at k 4 (l / 16) ..
/// 4 (l / 16) + 3.
__device__ __forceinline__ void mma_load_b_trans(MmaB &b, const u16 *tile, int stride) {
  const int lane = lane_id();
  const u16 *column = tile + lane / 16 * 4 * stride + lane % 16;
  const u16 bits[4] = {column[0], column[stride], column[2 * stride], column[3 * stride]};
  __builtin_memcpy(&b.v, bits, sizeof bits);
}

__device__ __forceinline__ void mma(MmaAcc &c, const MmaA &a, const MmaB &b) {
  c.v = __builtin_amdgcn_mfma_f32_16x16x16f16(a.v, b.v, c.v, 0, 0, 0);
}

/// Lane l holds column l % 16 of rows 4 (l / 16) .. 4 (l / 16) + 3.
__device__ __forceinline__ int mma_acc_row(int e) { return lane_id() / 16 * 4 + e; }
__device__ __forceinline__ int mma_acc_col(int e) { return lane_id() % 16; }
constexpr int kMmaAccRows = 4;
constexpr int kMmaRowLanes = 16;
__device__ __forceinline__ int mma_acc_slot(int e) { return e; }

__device__ __forceinline__ u32 pack_f16x2(float low, float high) {
  const _Float16 pair[2] = {static_cast<_Float16>(low), static_cast<_Float16>(high)};
  u32 bits;
  __builtin_memcpy(&bits, pair, sizeof bits);
  return bits;
}
#endif

} // namespace greta
