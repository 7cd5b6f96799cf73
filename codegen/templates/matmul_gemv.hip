{{BANNER}}
#include "greta_prelude.h"

using namespace greta;

{{CONSTANTS}}

{{PARAMS}}

{{> common/half}}

{{QUANT}}

{{BODIES}}

{{> common/matmul_io}}

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

{{GEMV_QUANT}}

// Split-K ranges are whole units of kSplitUnit values (whole quant blocks: a piece's inputs
// lie within its block, not within a run of its own size), kUnits / kSplitK of them per split,
// the first kUnits % kSplitK splits one more.
constexpr int kSplitUnit = kQuantBlockElements > kPieceValues ? kQuantBlockElements : kPieceValues;
constexpr int kUnits = kK / kSplitUnit;
constexpr int kStagedK = (kUnits + kSplitK - 1) / kSplitK * kSplitUnit; // the longest range
constexpr int kStagedSlots = (kStagedK / 4 + 7) / 8 * 8; // whole 128-byte lines of float4s
static_assert(kK % kSplitUnit == 0 && kSplitUnit % kPieceValues == 0 &&
                  kSplitUnit % kQuantBlockElements == 0 && kSplitK <= kUnits,
              "split-K ranges are whole quant blocks of whole pieces");
static_assert(kStagedK % 4 == 0, "the staged range is whole float4s");
// The int16 form: values (kStagedK / 2 words), then the scales, then the sums, within the
// f32 form's space. Ranges of whole warps of float4s keep every 32-value group, and every warp's
// staging pass, whole (stage_int16 shuffles within a group).
constexpr int kStagedPairWords = kStagedK / 2;
static_assert(kSumValues / 4 == 4 && kInt16Group / kSumValues == 2,
              "stage_int16 sums two shuffles of float4s, and a group is two sums");
static_assert(!kStagedInt16 || kSplitUnit % (4 * kWarpSize) == 0,
              "the int16 form stages whole 32-value groups");
/// The staged space in floats: the f32 form's whole lines, or the int16 form's words (half
/// the size, so a block holds twice the range: greta-lower-to-kernels splits K by this size).
constexpr int kStagedFloats =
    kStagedInt16 ? kStagedPairWords + kStagedK / kInt16Group + kStagedK / kSumValues
                 : 4 * kStagedSlots;

/// The first unit of split `split`'s range.
__device__ __forceinline__ int split_first_unit(int split) {
  return split * (kUnits / kSplitK) + (split < kUnits % kSplitK ? split : kUnits % kSplitK);
}

//===--- gemv route: out[s, n] = epilogue(prologue(x[s]) · W[n]) for few rows ---===//
// Bandwidth-bound: every weight byte is read once per row, with 16-byte loads. Grid
// (ceil(kN / kTileN), rows, kSplitK). Each warp reduces kRowsPerWarp whole weight rows: lane l
// takes pieces l, l + kWarpSize, ... of each (a piece: the values one 16-byte load of quantised
// data holds, quant_gemv/*.hip), so a warp's loads cover consecutive bytes of a row, and the
// input values of a piece, loaded once, serve all the warp's rows. A lane issues the loads of
// kBatch steps before it decodes any, to keep enough bytes in flight per compute unit.
constexpr int kWarps = kBlock / kWarpSize;
constexpr int kRowsPerWarp = kTileN / kWarps;
constexpr int kMaxPiecesPerSplit = kStagedK / kPieceValues;
constexpr int kSteps = (kMaxPiecesPerSplit + kWarpSize - 1) / kWarpSize;
static_assert(kTileN % kWarps == 0, "every warp reduces whole rows");
static_assert(kK % kPieceValues == 0 && kK % 4 == 0, "rows decode in whole pieces");
static_assert(kRowBytes == static_cast<i64>(kK) / kQuantBlockElements * kQuantBlockBytes,
              "row stride agrees with the block layout");
{{#GATE_UP}}
constexpr int kMatrices = 2; // gate and up rows of the same columns
{{/GATE_UP}}
{{^GATE_UP}}
constexpr int kMatrices = 1;
{{/GATE_UP}}
/// Steps of loads a lane issues before decoding: kPiecesInFlight pieces (the decoder's choice,
/// sized so that two blocks fit a compute unit's registers) over its rows and matrices.
constexpr int kBatchWanted = kPiecesInFlight / (kRowsPerWarp * kMatrices);
constexpr int kBatch = kBatchWanted < 1 ? 1 : kBatchWanted > kSteps ? kSteps : kBatchWanted;

{{#SPLIT_K}}
// Split-K: the kSplitK blocks of a column tile each reduce a K range into g_partials; the
// last of them to arrive adds the ranges up in split order (so the sum does not depend on
// timing), applies the epilogue and resets the tile's counter for the next launch (a graph
// replay starts from zero). Used for one row only (decode); the runtime runs one launch of a
// kernel at a time.
constexpr int kColumnTiles = (kN + kTileN - 1) / kTileN;
static_assert(kTileN <= kBlock, "the last block sums one column per thread");
__device__ float g_partials[kSplitK * kN];
{{#GATE_UP}}
__device__ float g_partials_up[kSplitK * kN];
{{/GATE_UP}}
__device__ unsigned int g_arrivals[kColumnTiles];
{{/SPLIT_K}}

{{#QKV}}
/// Weight row n of the grid: q's rows, then k's, then v's (one format, one K, so one decoder and
/// one row stride serve all three; a tile may straddle two matrices).
__device__ __forceinline__ const u8 *qkv_weight_row(const Params &p, i64 n) {
  if (n < kNQ)
    return p.q_weight + n * kRowBytes;
  if (n < kNQ + kNKV)
    return p.k_weight + (n - kNQ) * kRowBytes;
  return p.v_weight + (n - kNQ - kNKV) * kRowBytes;
}

{{/QKV}}
/// A split's pieces: [first, first + count) of the row.
struct PieceRange {
  int first;
  int count;
};

/// The piece a lane reads at `step`: past the range's end (a ragged last step) it rereads the
/// range's last piece, whose product the caller drops, so loads need no guard.
__device__ __forceinline__ int piece_at(const PieceRange &range, int step, int lane) {
  const int local = step * kWarpSize + lane;
  return range.first + (local < range.count ? local : range.count - 1);
}

/// Issues the loads of steps [step, step + kBatch) of `rows` (those below kSteps).
__device__ __forceinline__ void load_batch(const u8 *const (&rows)[kRowsPerWarp],
                                           const PieceRange &range, int step, int lane,
                                           WeightPiece (&w)[kBatch][kRowsPerWarp]) {
#pragma unroll
  for (int b = 0; b < kBatch; ++b) {
    if (step + b >= kSteps)
      continue;
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r)
      load_piece(rows[r], piece_at(range, step + b, lane), w[b][r]);
  }
}

GRETA_KERNEL(kBlock) {{ENTRY}}(const Params p) {
  const int s = blockIdx.y;
{{#LAST_ROW}}
  if (s >= 1) // lm_head: x points at the last row; one output row
    return;
{{/LAST_ROW}}
{{^LAST_ROW}}
  if (s >= p.rows)
    return;
{{/LAST_ROW}}
  const float *x = p.x + static_cast<i64>(s) * kK;
  const int lane = lane_id();
  const int split = blockIdx.z;
  const int firstUnit = split_first_unit(split);
  const int first = firstUnit * kSplitUnit; // the range's first input value
  const int rangeK = (split_first_unit(split + 1) - firstUnit) * kSplitUnit;
  const PieceRange range{first / kPieceValues, rangeK / kPieceValues};
  const int firstRow = blockIdx.x * kTileN + warp_id() * kRowsPerWarp;

  // Rows past kN (a ragged last tile) read row kN - 1; their results are not stored.
  const u8 *rows[kRowsPerWarp];
{{#GATE_UP}}
  const u8 *rowsUp[kRowsPerWarp];
{{/GATE_UP}}
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
    const i64 n = firstRow + r < kN ? firstRow + r : kN - 1;
{{#GATE_UP}}
    rows[r] = p.gate + n * kRowBytes;
    rowsUp[r] = p.up + n * kRowBytes;
{{/GATE_UP}}
{{#QKV}}
    rows[r] = qkv_weight_row(p, n);
{{/QKV}}
{{#ONE_MATRIX}}
    rows[r] = p.weight + n * kRowBytes;
{{/ONE_MATRIX}}
  }

  // The first batch of weights is in flight while the block prepares its input row.
  WeightPiece w[kBatch][kRowsPerWarp];
  load_batch(rows, range, 0, lane, w);
{{#GATE_UP}}
  WeightPiece wUp[kBatch][kRowsPerWarp];
  load_batch(rowsUp, range, 0, lane, wUp);
{{/GATE_UP}}
  // Early start: the weights are in flight before the launch that writes the input row has
  // finished; the input, and every output, is touched only after it has.
  wait_for_producers();

  // The split's input range, prologue applied, staged while the first loads are in flight.
  __shared__ __align__(16) float staged[kStagedFloats];
{{#PROLOGUE}}
  // 1/rms of the whole row, as rms_norm computes it (squares summed in double).
  __shared__ double squaresScratch[kBlock / kWarpSize];
  // Unrolled over a compile-time count, so each thread's loads are all in flight at once.
  constexpr int kRowVectorsPerThread = (kK / 4 + kBlock - 1) / kBlock;
  double sumSquares = 0.0;
#pragma unroll
  for (int i = 0; i < kRowVectorsPerThread; ++i) {
    const int k = 4 * (static_cast<int>(threadIdx.x) + i * kBlock);
    if (k < kK) {
      const float4 v = *reinterpret_cast<const float4 *>(x + k);
      sumSquares += static_cast<double>(v.x) * v.x + static_cast<double>(v.y) * v.y +
                    static_cast<double>(v.z) * v.z + static_cast<double>(v.w) * v.w;
    }
  }
  sumSquares = block_reduce_sum<kBlock>(sumSquares, squaresScratch);
  const float invRms = 1.0f / sqrtf(static_cast<float>(sumSquares / kK) + kEps);
{{/PROLOGUE}}
  const InputRow input{staged, first, reinterpret_cast<uint4 *>(staged), staged + kStagedPairWords,
                       staged + kStagedPairWords + kStagedK / kInt16Group};
  constexpr int kStagedVectorsPerThread = (kStagedK / 4 + kBlock - 1) / kBlock;
#pragma unroll
  for (int i = 0; i < kStagedVectorsPerThread; ++i) {
    const int f = static_cast<int>(threadIdx.x) + i * kBlock;
    if (f >= rangeK / 4)
      break;
    float4 v = *reinterpret_cast<const float4 *>(x + first + 4 * f);
{{#PROLOGUE}}
    const float4 gamma = *reinterpret_cast<const float4 *>(p.norm + first + 4 * f);
    v = make_float4(prologue(v.x, gamma.x, invRms), prologue(v.y, gamma.y, invRms),
                    prologue(v.z, gamma.z, invRms), prologue(v.w, gamma.w, invRms));
{{/PROLOGUE}}
    if constexpr (kStagedInt16)
      stage_int16(input, f, v);
    else
      reinterpret_cast<float4 *>(staged)[staged_slot(f)] = v;
  }
  __syncthreads();

  float acc[kRowsPerWarp] = {};
{{#GATE_UP}}
  float accUp[kRowsPerWarp] = {};
{{/GATE_UP}}
  for (int step = 0; step < kSteps; step += kBatch) {
    if (step > 0) {
      load_batch(rows, range, step, lane, w);
{{#GATE_UP}}
      load_batch(rowsUp, range, step, lane, wUp);
{{/GATE_UP}}
    }
#pragma unroll
    for (int b = 0; b < kBatch; ++b) {
      if (step + b >= kSteps)
        continue;
      // Past the range (a ragged last step) a lane decodes its reread piece and drops the
      // product: every lane calls dot_piece, which may exchange bytes across the warp.
      const bool live = (step + b) * kWarpSize + lane < range.count;
      const int piece = piece_at(range, step + b, lane);
      PieceInput in;
      load_input(input, piece, in);
#pragma unroll
      for (int r = 0; r < kRowsPerWarp; ++r) {
        const float dot = dot_piece(w[b][r], piece, in);
        acc[r] += live ? dot : 0.0f;
{{#GATE_UP}}
        const float dotUp = dot_piece(wUp[b][r], piece, in);
        accUp[r] += live ? dotUp : 0.0f;
{{/GATE_UP}}
      }
    }
  }
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
    acc[r] = warp_reduce_sum(acc[r]);
{{#GATE_UP}}
    accUp[r] = warp_reduce_sum(accUp[r]);
{{/GATE_UP}}
  }

{{^SPLIT_K}}
  if (lane == 0) {
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r)
      if (firstRow + r < kN)
{{#GATE_UP}}
        store_output(p, s, firstRow + r, acc[r], accUp[r]);
{{/GATE_UP}}
{{^GATE_UP}}
        store_output(p, s, firstRow + r, acc[r]);
{{/GATE_UP}}
  }
{{/SPLIT_K}}
{{#SPLIT_K}}
  if (lane == 0) {
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r)
      if (firstRow + r < kN) {
        g_partials[split * kN + firstRow + r] = acc[r];
{{#GATE_UP}}
        g_partials_up[split * kN + firstRow + r] = accUp[r];
{{/GATE_UP}}
      }
    // The writers' partials are visible before the block's arrival counts (the barrier orders
    // the arrival after every writer's fence; a fence by every thread cost the down
    // projections 0.35 cycles of membar stall per issued instruction).
    __threadfence();
  }
  __syncthreads();
  __shared__ bool isLast;
  if (threadIdx.x == 0)
    isLast = atomicAdd(&g_arrivals[blockIdx.x], 1u) == kSplitK - 1;
  __syncthreads();
  if (!isLast)
    return;
  __threadfence();
  const int n = blockIdx.x * kTileN + static_cast<int>(threadIdx.x);
  if (threadIdx.x < kTileN && n < kN) {
    const volatile float *partials = g_partials;
    float total = 0.0f;
    for (int k = 0; k < kSplitK; ++k)
      total += partials[k * kN + n];
{{#GATE_UP}}
    const volatile float *partialsUp = g_partials_up;
    float totalUp = 0.0f;
    for (int k = 0; k < kSplitK; ++k)
      totalUp += partialsUp[k * kN + n];
    store_output(p, s, n, total, totalUp);
{{/GATE_UP}}
{{^GATE_UP}}
    store_output(p, s, n, total);
{{/GATE_UP}}
  }
  if (threadIdx.x == 0)
    g_arrivals[blockIdx.x] = 0;
{{/SPLIT_K}}
}
