{{BANNER}}
#include "greta_prelude.h"

using namespace greta;

{{CONSTANTS}}

{{PARAMS}}

{{> common/half}}

{{BODIES}}

{{> common/matmul_io}}
{{#QKV}}

{{> common/kv_cache}}

{{> common/rope}}

static_assert(kHeadDim % 2 == 0 && kTileN % 2 == 0, "RoPE pairs lie within a tile");

/// Fills rotation[j] with the (cos, sin) of the RoPE rotation of pair j of the tile at grid row
/// `first` (rows first + 2j, first + 2j + 1, of q or k; v's rows are not rotated) at
/// positions[s], one pair per thread. Called before the products, so the double-precision angle's latency (rope_rotation)
/// overlaps the weight loads instead of lengthening the block's tail; store_qkv_tile reads it
/// after the block's barrier.
__device__ __forceinline__ void qkv_tile_rotations(const Params &p, int s, int first,
                                                   float2 *rotation) {
  const int j = static_cast<int>(threadIdx.x);
  const int n = first + 2 * j;
  if (j >= kTileN / 2 || n >= kNQ + kNKV)
    return;
  float cosine, sine;
  rope_rotation(p.freqs, n % kHeadDim / 2, p.positions[s], cosine, sine);
  rotation[j] = make_float2(cosine, sine);
}

/// Stores grid rows first, first + 1, ... below `end` of row s from `out` (the tile's products,
/// shared memory) as rope_kv_append leaves them after the three products: q and k pairs
/// (values 2i, 2i + 1 of each head) rotated by `rotation` (qkv_tile_rotations) into p.q and
/// p.k, the keys also into the key cache row positions[s], the values unrotated into p.v and the
/// value cache row. q, k and v start at multiples of kHeadDim and a tile at an even row, so a
/// pair never straddles two matrices or two tiles. A position outside [0, ctx) writes no cache
/// row (as rope_kv_append; the CPU backend refuses it).
__device__ __forceinline__ void store_qkv_tile(const Params &p, int s, int first, int end,
                                               const float *out, const float2 *rotation) {
  static_assert(kTileN / 2 <= kBlock, "a thread stores a pair");
  const int j = static_cast<int>(threadIdx.x);
  const int n = first + 2 * j;
  if (j >= kTileN / 2 || n >= end)
    return;
  const int position = p.positions[s];
  const bool stores = position >= 0 && position < p.ctx;
  float2 pair = make_float2(out[2 * j], out[2 * j + 1]);
  if (n < kNQ + kNKV) { // q and k rotate; v's values are stored as they are
    const float2 rot = rotation[j];
    pair = make_float2(pair.x * rot.x - pair.y * rot.y, pair.x * rot.y + pair.y * rot.x);
  }
  if (n < kNQ) {
    *reinterpret_cast<float2 *>(p.q + static_cast<i64>(s) * kNQ + n) = pair;
    return;
  }
  const bool isKey = n < kNQ + kNKV;
  const int c = n - kNQ - (isKey ? 0 : kNKV); // the column within a k or v row
  *reinterpret_cast<float2 *>((isKey ? p.k : p.v) + static_cast<i64>(s) * kNKV + c) = pair;
  if (stores)
    kv_store2((isKey ? p.k_cache : p.v_cache) + static_cast<i64>(position) * kNKV + c, pair);
}
{{/QKV}}

//===--- The input row as the decoders read it ---===//
// A block stages its split's range of the input row (prologue applied) in shared memory once;
// every warp then reads its pieces' inputs from there, in one of two forms:
//   - f32, four values at a time (at4). Float4 f of the range sits in slot staged_slot(f): its
//     low three bits XOR bits 3-5 and 4-6, a permutation within each 128-byte line under which
//     the float4s the lanes of a quarter-warp read at once fall in distinct banks for every
//     decoder's lane pattern (quant_gemv/*.hip), where the plain layout has up to four-way
//     conflicts.
//   - int16, for decoders that multiply with integer dot products (kStagedInt16): each group
//     of 32 values as int16 q with x = scale · q, scale = max |x| / 32767 of the group, so a
//     value is off by at most 1/65534 of its group's largest (a dot product of random-sign
//     terms by ~3e-5 of its size: the manifest declares dtype_a i16, and the kernel tests hold
//     it to their i16 tolerance); and the f32 sum of every 16 values, for the quant formats'
//     offsets. Eight values (16 bytes) sit in slot
//     staged_pair_slot(u) of their 16-byte unit u: bits 0 and 2 XOR bits 3 and 4, under which
//     the eight pieces of a Q4_K block (units 8 (j / 2) + 2 (j % 2), + 1, + 4, + 5) fall in
//     distinct banks.
__device__ __forceinline__ int staged_slot(int f) { return f ^ (((f >> 3) ^ (f >> 4)) & 7); }
__device__ __forceinline__ int staged_pair_slot(int u) {
  return u ^ ((u >> 3) & 1) ^ (((u >> 4) & 1) << 2);
}
/// Shifts of the staged range, in values, that move every slot by a whole stride: staged_slot
/// permutes within runs of 128 float4s (bits 3-6), staged_pair_slot within runs of 32 units
/// (bits 3-4), so a view of the row shifted by a multiple of these (InputRow::advanced) reads
/// the same values through the plain offset.
constexpr int kSlotPeriodF32 = 4 * 128;
constexpr int kSlotPeriodInt16 = 8 * 32;
constexpr float kInt16Max = 32767.0f;
constexpr int kInt16Group = 32; ///< values sharing one scale in the int16 form
constexpr int kSumValues = 16;  ///< values per f32 sum in the int16 form

struct InputRow {
  const float *staged;  ///< shared memory: the split's range, float4s permuted by staged_slot
  int first;            ///< the row index of staged value 0
  uint4 *pairs;         ///< int16 form: values, eight per slot, permuted by staged_pair_slot
  float *scales;        ///< int16 form: the scale of each 32 values
  float *sums;          ///< int16 form: the f32 sum of each 16 values

  /// Input values k .. k + 3 (k a multiple of 4, within the staged range).
  __device__ __forceinline__ float4 at4(int k) const {
    return reinterpret_cast<const float4 *>(staged)[staged_slot((k - first) / 4)];
  }
  /// Input values k .. k + 7 as int16 pairs, k + 2i in the low half of word i (k a multiple
  /// of 8).
  __device__ __forceinline__ uint4 pairs8(int k) const {
    return pairs[staged_pair_slot((k - first) / 8)];
  }
  /// Input values k .. k + 15 as int16 pairs (k a multiple of 8).
  __device__ __forceinline__ void pairs16(int k, u32 (&out)[8]) const {
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const uint4 v = pairs8(k + 8 * half);
      out[4 * half] = v.x;
      out[4 * half + 1] = v.y;
      out[4 * half + 2] = v.z;
      out[4 * half + 3] = v.w;
    }
  }
  /// The scale of the 32 values holding value k.
  __device__ __forceinline__ float scale(int k) const {
    return scales[(k - first) / kInt16Group];
  }
  /// The sum of the 16 values from k (a multiple of 16).
  __device__ __forceinline__ float sum16(int k) const { return sums[(k - first) / kSumValues]; }

  /// The row as seen `values` further on (view.at4(k) is at4(k + values), and so for every
  /// form), for `values` a multiple of the staged form's slot period: a decoder then computes
  /// its slots from the lane's own piece only, once, rather than again at every step.
  __device__ __forceinline__ InputRow advanced(int values) const {
    return InputRow{staged + values, first, pairs + values / 8, scales + values / kInt16Group,
                    sums + values / kSumValues};
  }
};

/// The larger of a and b, NaN if either is (fmaxf returns the other operand): one max.NaN
/// instruction on NVIDIA (sm_80 and later).
__device__ __forceinline__ float max_keeping_nan(float a, float b) {
#if defined(GRETA_TARGET_NVIDIA) && defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  float out;
  asm("max.NaN.f32 %0, %1, %2;" : "=f"(out) : "f"(a), "f"(b));
  return out;
#else
  return a > b || a != a ? a : b;
#endif
}

/// Adding 1.5 · 2^23 to a float of magnitude below 2^22 rounds it to an integer (to nearest,
/// ties to even, as __float2int_rn) and leaves that integer, two's complement, in the low bits
/// of the sum's bit pattern: its low 16 bits are the int16 (no conversion instruction, which
/// issues at a quarter of the rate).
constexpr float kRoundingMagic = 12582912.0f;

/// Stages float4 f of the range in the int16 form. The eight lanes of f's 32-value group
/// call it together (the group's largest and its 16-value sums come from shuffles). Staging is
/// a large part of a GEMV block's instructions (the whole input range per block: 14336 values
/// in a down projection), so it avoids divisions and conversions.
__device__ __forceinline__ void stage_int16(const InputRow &row, int f, float4 v) {
  // A NaN or infinity in the group makes its scale NaN or infinite, and so every product of
  // the group: a bad input is not hidden by its quantisation.
  float largest = max_keeping_nan(max_keeping_nan(fabsf(v.x), fabsf(v.y)),
                                  max_keeping_nan(fabsf(v.z), fabsf(v.w)));
#pragma unroll
  for (int mask = 1; mask < kInt16Group / 4; mask *= 2)
    largest = max_keeping_nan(largest, shfl_xor(largest, mask));
  // toInt and the stored scale are reciprocal to a few ulps (the int16 rounding is 2^-16 of the
  // group's largest); |v · toInt| ≤ 32767 (1 + 2^-22) rounds to at most 32767.
  const float toInt = largest > 0.0f ? kInt16Max * __frcp_rn(largest) : 0.0f;
  const u32 b0 = __float_as_uint(fmaf(v.x, toInt, kRoundingMagic));
  const u32 b1 = __float_as_uint(fmaf(v.y, toInt, kRoundingMagic));
  const u32 b2 = __float_as_uint(fmaf(v.z, toInt, kRoundingMagic));
  const u32 b3 = __float_as_uint(fmaf(v.w, toInt, kRoundingMagic));
  constexpr u32 kLowHalves = 0x5410; // byte_perm: the low 16 bits of each operand
  reinterpret_cast<uint2 *>(row.pairs)[2 * staged_pair_slot(f / 2) + f % 2] =
      make_uint2(__byte_perm(b0, b1, kLowHalves), __byte_perm(b2, b3, kLowHalves));
  float sum = (v.x + v.y) + (v.z + v.w);
  sum += shfl_xor(sum, 1);
  sum += shfl_xor(sum, 2);
  if (f % (kSumValues / 4) == 0)
    row.sums[f / (kSumValues / 4)] = sum;
  constexpr float kInverseInt16Max = 1.0f / kInt16Max;
  if (f % (kInt16Group / 4) == 0)
    row.scales[f / (kInt16Group / 4)] = largest * kInverseInt16Max;
}

{{> common/gemv_bits}}

{{GEMV_PARTS}}

{{^TWO_PARTS}}
constexpr int kStagedFloats = part0::kStagedFloats;
{{/TWO_PARTS}}
{{#TWO_PARTS}}
constexpr int kStagedFloats = part0::kStagedFloats > part1::kStagedFloats
                                  ? part0::kStagedFloats
                                  : part1::kStagedFloats;
{{/TWO_PARTS}}

// Two blocks per compute unit (the decoders size their loads in flight for 128 registers): the
// compiler kept to that by itself until the lanes' input slots were hoisted out of the step
// loop (kInputByStep), when the Q6_K LM head grew to 152 registers and one block.
GRETA_KERNEL_BLOCKS(kBlock, 2) {{ENTRY}}(const Params p) {
  // The staged input range, sized for the part that stages most.
  __shared__ __align__(16) float staged[kStagedFloats];
{{#TWO_PARTS}}
  // A uniform branch: a block's tile lies in one part.
  if (static_cast<int>(blockIdx.x) >= part0::kTiles) {
    part1::gemv_tile(p, static_cast<int>(blockIdx.x) - part0::kTiles, staged);
    return;
  }
{{/TWO_PARTS}}
  part0::gemv_tile(p, static_cast<int>(blockIdx.x), staged);
}
