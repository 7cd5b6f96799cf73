{{BANNER}}
#include "greta_prelude.h"

using namespace greta;

{{CONSTANTS}}

{{PARAMS}}

{{> common/half}}

//===--- attention, flash route on the matrix units over binary16 KV caches (prefill) ---===//
// Causal, grouped-query: query row s attends to cache rows 0..positions[s]; head h reads KV
// head h / (kHeads / kKVHeads); scores are scaled by kScale. Grid (ceil(rows / kTileM),
// kHeads). The block's query rows form groups of kMmaM (one matrix-instruction row tile each),
// dealt to the warps; a group's queries stay in registers as binary16 A operands, hi and lo
// (lo the rounding rest of hi: a score's error grows with |q| |k|, so the queries keep about
// 21 bits; the cache's keys are binary16 already, so S = Qhi K + Qlo K is exact to f32).
// The cache rows are the matrix units' operands as they are: the block streams tiles of kTileN
// keys and values into shared memory with asynchronous 16-byte copies, the next tile in flight
// while the products run on this one (two buffers, two barriers a tile), K read row-major as
// the B operand of Q Kᵀ and V k-major (transposing loads) as the B operand of P V. Per tile each
// warp, for each of its groups:
//   S = Q Kᵀ (f32 accumulators in registers), scaled and causally masked in registers;
//   a running softmax per row: the tile's maximum from the lanes holding the row's other
//   columns (shuffles), the factor that rescales the row's earlier output and sum, and
//   P = exp(S - max) as binary16 into the warp's own rows of a shared tile;
//   O = O · factor + P V (f32 accumulators in registers).
// Scores never leave registers except as P; the warp's P rows need only a warp barrier.
// P and V are binary16 (probabilities in [0, 1], values as stored), products and sums f32.
// A position outside [0, ctx) writes a row of NaN (the CPU backend refuses it).
constexpr int kWarps = kBlock / kWarpSize;
constexpr int kKVCols = kKVHeads * kHeadDim;
constexpr int kQueriesPerKVHead = kHeads / kKVHeads;
constexpr int kRowGroups = kTileM / kMmaM;
constexpr int kGroupsPerWarp = (kRowGroups + kWarps - 1) / kWarps;
constexpr int kDimSteps = kHeadDim / kMmaK;  // instruction steps over a query·key product
constexpr int kKeySteps = kTileN / kMmaK;    // instruction steps over a probability·value product
constexpr int kKeyBlocks = kTileN / kMmaN;   // accumulator tiles across a score tile
constexpr int kDimBlocks = kHeadDim / kMmaN; // accumulator tiles across an output row
// Shared rows padded by eight halves: 16-byte aligned (ldmatrix, the copies) and off the bank
// of the row above.
constexpr int kRowStride = kHeadDim + 8;
constexpr int kTileStride = kTileN + 8;
constexpr int kCopiesPerRow = kHeadDim / 8; // 16-byte copies of eight binary16 values
__device__ __forceinline__ float negative_infinity() { return -__int_as_float(0x7f800000); }
static_assert(sizeof(KVValue) == sizeof(u16),
              "binary16 caches (attention_flash_mma reads f32 ones)");
static_assert(kHeads % kKVHeads == 0, "grouped-query attention");
static_assert(kTileM % kMmaM == 0, "query rows are whole instruction row tiles");
static_assert(kHeadDim % kMmaK == 0 && kHeadDim % kMmaN == 0 && kHeadDim % 8 == 0,
              "head_dim is whole instruction steps (the emitter falls back to attention_flash)");
static_assert(kTileN % kMmaK == 0 && kTileN % kMmaN == 0, "a key tile is whole instruction steps");
constexpr int kTileHalves = kTileN * kRowStride; // one K or V tile
static_assert(2 * kTileM <= 4 * kTileN, "the query tile (hi, lo) stages where the K and V tiles go");

/// Starts copying cache rows t0 .. t0 + kTileN - 1 (this head's columns) into `keys` and
/// `values`, row-major, as one group of asynchronous copies. Rows past `last` (beyond every
/// row's position, perhaps beyond the cache) are zeros instead: their scores are masked, and
/// zero values keep NaN out of P V.
__device__ __forceinline__ void start_kv_tile(const Params &p, int kvOffset, int t0, int last,
                                              u16 *keys, u16 *values) {
  for (int i = threadIdx.x; i < kTileN * kCopiesPerRow; i += kBlock) {
    const int j = i / kCopiesPerRow;
    const int d = i % kCopiesPerRow * 8;
    u16 *key = keys + j * kRowStride + d;
    u16 *value = values + j * kRowStride + d;
    if (t0 + j <= last) {
      const i64 at = static_cast<i64>(t0 + j) * kKVCols + kvOffset + d;
      copy_async_16(key, p.k_cache + at);
      copy_async_16(value, p.v_cache + at);
    } else {
      *reinterpret_cast<uint4 *>(key) = make_uint4(0u, 0u, 0u, 0u);
      *reinterpret_cast<uint4 *>(value) = make_uint4(0u, 0u, 0u, 0u);
    }
  }
  copy_async_commit();
}

/// The largest (or, with `sum`, the total) of `value` over the lanes that hold the other
/// columns of its accumulator rows.
__device__ __forceinline__ float row_max(float value) {
#pragma unroll
  for (int mask = 1; mask < kMmaRowLanes; mask *= 2)
    value = fmaxf(value, shfl_xor(value, mask));
  return value;
}
__device__ __forceinline__ float row_sum(float value) {
#pragma unroll
  for (int mask = 1; mask < kMmaRowLanes; mask *= 2)
    value += shfl_xor(value, mask);
  return value;
}

GRETA_KERNEL(kBlock) {{ENTRY}}(const Params p) {
  wait_for_producers();
  // K tiles in buffers 0 and 1, V tiles in 2 and 3.
  alignas(16) __shared__ u16 staging[4 * kTileHalves];
  alignas(16) __shared__ u16 probabilities[kTileM * kTileStride];
  __shared__ int scratch[kWarps];
  const int row0 = blockIdx.x * kTileM;
  const int h = blockIdx.y;
  if (row0 >= p.rows)
    return;
  const int kvOffset = h / kQueriesPerKVHead * kHeadDim;

  // Each lane's accumulator rows: their positions (-1: no keys, the row is written as NaN) and
  // running softmax (maximum; this lane's part of the sum, whose other parts the lanes of the
  // row hold under the same maximum).
  int position[kGroupsPerWarp][kMmaAccRows];
  float runningMax[kGroupsPerWarp][kMmaAccRows];
  float runningSum[kGroupsPerWarp][kMmaAccRows];
  int lastPosition = -1;
#pragma unroll
  for (int gi = 0; gi < kGroupsPerWarp; ++gi)
#pragma unroll
    for (int e = 0; e < kMmaAccElements; ++e) {
      const int g = warp_id() + gi * kWarps;
      const int s = row0 + g * kMmaM + mma_acc_row(e);
      int at = g < kRowGroups && s < p.rows ? p.positions[s] : -1;
      if (at < 0 || at >= p.ctx)
        at = -1;
      position[gi][mma_acc_slot(e)] = at;
      runningMax[gi][mma_acc_slot(e)] = negative_infinity();
      runningSum[gi][mma_acc_slot(e)] = 0.0f;
      lastPosition = max(lastPosition, at);
    }
  lastPosition = block_reduce_max<kBlock>(lastPosition, scratch, -1);

  // The query tile, hi then lo, through shared memory (the K and V buffers) into each group's A
  // operands.
  u16 *queryTile = staging;
  MmaA queryHi[kGroupsPerWarp][kDimSteps], queryLo[kGroupsPerWarp][kDimSteps];
  for (int i = threadIdx.x; i < kTileM * (kHeadDim / 4); i += kBlock) {
    const int r = i / (kHeadDim / 4);
    const int d = i % (kHeadDim / 4) * 4;
    float4 q = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    if (row0 + r < p.rows)
      q = *reinterpret_cast<const float4 *>(p.q + static_cast<i64>(row0 + r) * kHeads * kHeadDim +
                                            h * kHeadDim + d);
    const u32 hi0 = pack_f16x2(q.x, q.y), hi1 = pack_f16x2(q.z, q.w);
    const u32 lo0 = pack_f16x2(q.x - half_bits_to_float(static_cast<u16>(hi0 & 0xffffu)),
                               q.y - half_bits_to_float(static_cast<u16>(hi0 >> 16)));
    const u32 lo1 = pack_f16x2(q.z - half_bits_to_float(static_cast<u16>(hi1 & 0xffffu)),
                               q.w - half_bits_to_float(static_cast<u16>(hi1 >> 16)));
    *reinterpret_cast<uint2 *>(queryTile + r * kRowStride + d) = make_uint2(hi0, hi1);
    *reinterpret_cast<uint2 *>(queryTile + (kTileM + r) * kRowStride + d) = make_uint2(lo0, lo1);
  }
  __syncthreads();
#pragma unroll
  for (int gi = 0; gi < kGroupsPerWarp; ++gi) {
    const int g = warp_id() + gi * kWarps;
    if (g >= kRowGroups)
      continue;
#pragma unroll
    for (int kk = 0; kk < kDimSteps; ++kk) {
      mma_load_a(queryHi[gi][kk], queryTile + g * kMmaM * kRowStride + kk * kMmaK, kRowStride);
      mma_load_a(queryLo[gi][kk], queryTile + (kTileM + g * kMmaM) * kRowStride + kk * kMmaK,
                 kRowStride);
    }
  }
  __syncthreads(); // the buffers now take key tiles

  MmaAcc out[kGroupsPerWarp][kDimBlocks];
  if (lastPosition >= 0)
    start_kv_tile(p, kvOffset, 0, lastPosition, staging, staging + 2 * kTileHalves);
  for (int t0 = 0, buffer = 0; t0 <= lastPosition; t0 += kTileN, buffer ^= 1) {
    // The next tile streams in while this one is multiplied.
    if (t0 + kTileN <= lastPosition) {
      start_kv_tile(p, kvOffset, t0 + kTileN, lastPosition, staging + (buffer ^ 1) * kTileHalves,
                    staging + (2 + (buffer ^ 1)) * kTileHalves);
      copy_async_wait<1>();
    } else {
      copy_async_wait<0>();
    }
    __syncthreads();
    const u16 *keyTile = staging + buffer * kTileHalves;
    const u16 *valueTile = staging + (2 + buffer) * kTileHalves;
#pragma unroll
    for (int gi = 0; gi < kGroupsPerWarp; ++gi) {
      const int g = warp_id() + gi * kWarps;
      if (g >= kRowGroups)
        continue;
      // S = Q Kᵀ, scaled and masked (a key past the row's position: -inf).
      MmaAcc score[kKeyBlocks];
#pragma unroll
      for (int j = 0; j < kKeyBlocks; ++j)
#pragma unroll
        for (int kk = 0; kk < kDimSteps; ++kk) {
          MmaB b;
          mma_load_b(b, keyTile + j * kMmaN * kRowStride + kk * kMmaK, kRowStride);
          mma(score[j], queryHi[gi][kk], b);
          mma(score[j], queryLo[gi][kk], b);
        }
      float tileMax[kMmaAccRows];
#pragma unroll
      for (int r = 0; r < kMmaAccRows; ++r)
        tileMax[r] = negative_infinity();
#pragma unroll
      for (int j = 0; j < kKeyBlocks; ++j)
#pragma unroll
        for (int e = 0; e < kMmaAccElements; ++e) {
          const int slot = mma_acc_slot(e);
          const int key = t0 + j * kMmaN + mma_acc_col(e);
          score[j].v[e] = key <= position[gi][slot] ? score[j].v[e] * kScale : negative_infinity();
          tileMax[slot] = fmaxf(tileMax[slot], score[j].v[e]);
        }
      // The running softmax per row; a row with no key yet keeps weights 0.
      float factor[kMmaAccRows], newMax[kMmaAccRows];
#pragma unroll
      for (int r = 0; r < kMmaAccRows; ++r) {
        newMax[r] = fmaxf(runningMax[gi][r], row_max(tileMax[r]));
        factor[r] = newMax[r] == negative_infinity() ? 1.0f : expf(runningMax[gi][r] - newMax[r]);
        runningMax[gi][r] = newMax[r];
        runningSum[gi][r] *= factor[r];
      }
      u16 *groupP = probabilities + g * kMmaM * kTileStride;
#pragma unroll
      for (int j = 0; j < kKeyBlocks; ++j)
#pragma unroll
        for (int e = 0; e < kMmaAccElements; ++e) {
          const int slot = mma_acc_slot(e);
          const float weight =
              newMax[slot] == negative_infinity() ? 0.0f : expf(score[j].v[e] - newMax[slot]);
          runningSum[gi][slot] += weight;
          groupP[mma_acc_row(e) * kTileStride + j * kMmaN + mma_acc_col(e)] =
              static_cast<u16>(pack_f16x2(weight, 0.0f) & 0xffffu);
        }
#pragma unroll
      for (int j = 0; j < kDimBlocks; ++j)
#pragma unroll
        for (int e = 0; e < kMmaAccElements; ++e)
          out[gi][j].v[e] *= factor[mma_acc_slot(e)];
      warp_sync(); // the group's P rows are written
      // O += P V.
#pragma unroll
      for (int kk = 0; kk < kKeySteps; ++kk) {
        MmaA a;
        mma_load_a(a, groupP + kk * kMmaK, kTileStride);
#pragma unroll
        for (int j = 0; j < kDimBlocks; ++j) {
          MmaB b;
          mma_load_b_trans(b, valueTile + kk * kMmaK * kRowStride + j * kMmaN, kRowStride);
          mma(out[gi][j], a, b);
        }
      }
      warp_sync(); // P is read before the next group or tile overwrites it
    }
    __syncthreads(); // every warp is done with the buffer before the next copies target it
  }

#pragma unroll
  for (int gi = 0; gi < kGroupsPerWarp; ++gi) {
    const int g = warp_id() + gi * kWarps;
    if (g >= kRowGroups)
      continue;
    float total[kMmaAccRows];
#pragma unroll
    for (int r = 0; r < kMmaAccRows; ++r)
      total[r] = row_sum(runningSum[gi][r]);
#pragma unroll
    for (int j = 0; j < kDimBlocks; ++j)
#pragma unroll
      for (int e = 0; e < kMmaAccElements; ++e) {
        const int r = g * kMmaM + mma_acc_row(e);
        if (row0 + r >= p.rows)
          continue;
        const int slot = mma_acc_slot(e);
        const int d = j * kMmaN + mma_acc_col(e);
        p.out[static_cast<i64>(row0 + r) * kHeads * kHeadDim + h * kHeadDim + d] =
            position[gi][slot] >= 0 ? out[gi][j].v[e] / total[slot] : __int_as_float(0x7fc00000);
      }
  }
}
