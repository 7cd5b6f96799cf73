{{BANNER}}
#include "greta_prelude.h"

using namespace greta;

{{CONSTANTS}}

{{PARAMS}}

{{> common/half}}

//===--- attention, flash route on the matrix units: a tile of query rows (prefill) ---===//
// Causal, grouped-query: query row s attends to cache rows 0..positions[s]; head h reads KV
// head h / (kHeads / kKVHeads); scores are scaled by kScale. Grid (ceil(rows / kTileM),
// kHeads). The block's query rows form groups of kMmaM (one matrix-instruction row tile each),
// dealt to the warps; a group's queries stay in registers as binary16 A operands. The block
// walks the cache in tiles of kTileN keys up to the largest position of its rows, staging K
// (row-major) and V (transposed: dimension-major) as binary16 in shared memory. Per tile each
// warp, for each of its groups:
//   S = Q Kᵀ on the matrix units (f32), scaled and causally masked, into shared memory. Queries
//   and keys travel as binary16 pairs hi + lo (lo the rounding rest of hi) and S sums
//   Qhi Khi + Qhi Klo + Qlo Khi: a score's error grows with |q| |k|, and one binary16 rounding
//   of each (2^-11) can move a softmax weight by a percent when scores are large; the split
//   leaves about 2^-21, for three instructions instead of one on half of the FLOPs;
//   a running softmax per row over S (f32): the new maximum, P = exp(S - max) as binary16,
//   the row sum, and the factor that rescales the row's earlier output;
//   O = O · factor + P V on the matrix units (f32 accumulators in registers).
// Scores are never written to global memory. A warp only touches its own groups' rows of the
// S and P tiles, so only the K/V staging needs block barriers.
// P and V are binary16 (probabilities in [0, 1], values), products and sums f32: about one
// binary16 rounding per operand in the output, as in the gemm route.
// A position outside [0, ctx) writes a row of NaN (the CPU backend refuses it).
constexpr int kWarps = kBlock / kWarpSize;
static_assert(sizeof(KVValue) == sizeof(float),
              "f32 caches (attention_flash_mma_f16 reads binary16 ones as they are)");
constexpr int kKVCols = kKVHeads * kHeadDim;
constexpr int kQueriesPerKVHead = kHeads / kKVHeads;
constexpr int kRowGroups = kTileM / kMmaM;
constexpr int kGroupsPerWarp = (kRowGroups + kWarps - 1) / kWarps;
constexpr int kDimSteps = kHeadDim / kMmaK; // instruction steps over a query·key product
constexpr int kKeySteps = kTileN / kMmaK;   // instruction steps over a probability·value product
// Shared rows padded by eight halves: 16-byte aligned (ldmatrix) and off the bank of the row
// above.
constexpr int kKeyStride = kHeadDim + 8;
constexpr int kTileStride = kTileN + 8;
// Lanes sharing one row of a group in the softmax: a warp covers kMmaM rows at once.
constexpr int kLanesPerRow = kWarpSize / kMmaM;
static_assert(kHeads % kKVHeads == 0, "grouped-query attention");
static_assert(kTileM % kMmaM == 0, "query rows are whole instruction row tiles");
static_assert(kHeadDim % kMmaK == 0 && kHeadDim % kMmaN == 0,
              "head_dim is whole instruction steps (the emitter falls back to attention_flash)");
static_assert(kTileN % kMmaK == 0 && kTileN % kMmaN == 0 && kTileN % kLanesPerRow == 0,
              "a key tile is whole instruction steps");
static_assert(kHeadDim % 4 == 0, "K/V rows stage as float4s");

// Shared memory: the K (hi and lo) and Vᵀ tiles (which hold the query tile, hi then lo, while
// it is read into registers before the first key tile), the probability tile (binary16), the
// score tile (f32), and per row its position and running softmax.
constexpr int kKeyTileHalves = kTileN * kKeyStride;
constexpr int kValueTileHalves = kHeadDim * kTileStride;
constexpr int kQueryTileHalves = kTileM * kKeyStride;
constexpr int kStagingHalves = 2 * kKeyTileHalves + kValueTileHalves > kQueryTileHalves
                                   ? 2 * kKeyTileHalves + kValueTileHalves
                                   : kQueryTileHalves;

/// a and b as binary16 pairs (low half first): hi, rounded to nearest, and lo, what hi left out.
/// hi + lo carries about 21 bits of each value.
__device__ __forceinline__ void split_f16x2(float a, float b, u32 &hi, u32 &lo) {
  hi = pack_f16x2(a, b);
  lo = pack_f16x2(a - half_bits_to_float(static_cast<u16>(hi & 0xffffu)),
                  b - half_bits_to_float(static_cast<u16>(hi >> 16)));
}

/// Key tile: rows t0 .. t0 + kTileN of the K cache (this head's columns) as binary16 hi and lo,
/// row-major; V transposed (row d holds dimension d of the tile's keys). Keys past `last` are
/// zeros (their scores are masked; zero values keep NaN out of P V).
__device__ __forceinline__ void stage_kv(const Params &p, int kvOffset, int t0, int last,
                                         u16 *keyHi, u16 *keyLo, u16 *valueTile) {
  constexpr int kVectorsPerRow = kHeadDim / 4;
  for (int i = threadIdx.x; i < kTileN * kVectorsPerRow; i += kBlock) {
    const int j = i / kVectorsPerRow;
    const int d = i % kVectorsPerRow * 4;
    float4 k = make_float4(0.0f, 0.0f, 0.0f, 0.0f), v = k;
    if (t0 + j <= last) {
      const i64 at = static_cast<i64>(t0 + j) * kKVCols + kvOffset + d;
      k = *reinterpret_cast<const float4 *>(p.k_cache + at);
      v = *reinterpret_cast<const float4 *>(p.v_cache + at);
    }
    u32 hi0, lo0, hi1, lo1;
    split_f16x2(k.x, k.y, hi0, lo0);
    split_f16x2(k.z, k.w, hi1, lo1);
    *reinterpret_cast<uint2 *>(keyHi + j * kKeyStride + d) = make_uint2(hi0, hi1);
    *reinterpret_cast<uint2 *>(keyLo + j * kKeyStride + d) = make_uint2(lo0, lo1);
    const u32 lo = pack_f16x2(v.x, v.y), hi = pack_f16x2(v.z, v.w);
    valueTile[(d + 0) * kTileStride + j] = static_cast<u16>(lo & 0xffffu);
    valueTile[(d + 1) * kTileStride + j] = static_cast<u16>(lo >> 16);
    valueTile[(d + 2) * kTileStride + j] = static_cast<u16>(hi & 0xffffu);
    valueTile[(d + 3) * kTileStride + j] = static_cast<u16>(hi >> 16);
  }
}

GRETA_KERNEL(kBlock) {{ENTRY}}(const Params p) {
  wait_for_producers();
  alignas(16) __shared__ u16 staging[kStagingHalves];
  alignas(16) __shared__ u16 probabilities[kTileM * kTileStride];
  __shared__ float scores[kTileM * kTileN];
  __shared__ int rowPosition[kTileM];
  __shared__ float rowMax[kTileM];
  __shared__ float rowSum[kTileM];
  __shared__ float rowFactor[kTileM];
  __shared__ int scratch[kWarps];
  u16 *keyHi = staging;
  u16 *keyLo = staging + kKeyTileHalves;
  u16 *valueTile = staging + 2 * kKeyTileHalves;
  const int row0 = blockIdx.x * kTileM;
  const int h = blockIdx.y;
  if (row0 >= p.rows)
    return;
  const int kvOffset = h / kQueriesPerKVHead * kHeadDim;
  const int lane = lane_id();

  // Positions (-1: no keys, the row is written as NaN) and the block's last key.
  int lastPosition = -1;
  for (int r = threadIdx.x; r < kTileM; r += kBlock) {
    int position = row0 + r < p.rows ? p.positions[row0 + r] : -1;
    if (position < 0 || position >= p.ctx)
      position = -1;
    rowPosition[r] = position;
    rowMax[r] = -__int_as_float(0x7f800000);
    rowSum[r] = 0.0f;
    lastPosition = max(lastPosition, position);
  }
  lastPosition = block_reduce_max<kBlock>(lastPosition, scratch, -1);

  // The query tile, hi then lo, through shared memory into each group's A operands.
  MmaA queryHi[kGroupsPerWarp][kDimSteps], queryLo[kGroupsPerWarp][kDimSteps];
  MmaAcc out[kGroupsPerWarp][kHeadDim / kMmaN];
#pragma unroll
  for (int part = 0; part < 2; ++part) {
    if (part == 1)
      __syncthreads(); // every warp has read the hi tile
    for (int i = threadIdx.x; i < kTileM * (kHeadDim / 4); i += kBlock) {
      const int r = i / (kHeadDim / 4);
      const int d = i % (kHeadDim / 4) * 4;
      float4 q = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
      if (row0 + r < p.rows)
        q = *reinterpret_cast<const float4 *>(p.q + static_cast<i64>(row0 + r) * kHeads * kHeadDim +
                                              h * kHeadDim + d);
      u32 hi0, lo0, hi1, lo1;
      split_f16x2(q.x, q.y, hi0, lo0);
      split_f16x2(q.z, q.w, hi1, lo1);
      *reinterpret_cast<uint2 *>(staging + r * kKeyStride + d) =
          part == 0 ? make_uint2(hi0, hi1) : make_uint2(lo0, lo1);
    }
    __syncthreads();
#pragma unroll
    for (int gi = 0; gi < kGroupsPerWarp; ++gi) {
      const int g = warp_id() + gi * kWarps;
      if (g >= kRowGroups)
        continue;
#pragma unroll
      for (int kk = 0; kk < kDimSteps; ++kk)
        mma_load_a(part == 0 ? queryHi[gi][kk] : queryLo[gi][kk],
                   staging + g * kMmaM * kKeyStride + kk * kMmaK, kKeyStride);
    }
  }
  __syncthreads(); // the staging area now takes key tiles

  for (int t0 = 0; t0 <= lastPosition; t0 += kTileN) {
    stage_kv(p, kvOffset, t0, lastPosition, keyHi, keyLo, valueTile);
    __syncthreads();
#pragma unroll
    for (int gi = 0; gi < kGroupsPerWarp; ++gi) {
      const int g = warp_id() + gi * kWarps;
      if (g >= kRowGroups)
        continue;
      const int groupRow = g * kMmaM;
      // S = Q Kᵀ, scaled and masked (key past the row's position: -inf), into `scores`.
#pragma unroll
      for (int j = 0; j < kTileN / kMmaN; ++j) {
        MmaAcc s;
#pragma unroll
        for (int kk = 0; kk < kDimSteps; ++kk) {
          MmaB bHi, bLo;
          mma_load_b(bHi, keyHi + j * kMmaN * kKeyStride + kk * kMmaK, kKeyStride);
          mma_load_b(bLo, keyLo + j * kMmaN * kKeyStride + kk * kMmaK, kKeyStride);
          mma(s, queryHi[gi][kk], bHi);
          mma(s, queryHi[gi][kk], bLo);
          mma(s, queryLo[gi][kk], bHi);
        }
#pragma unroll
        for (int e = 0; e < kMmaAccElements; ++e) {
          const int r = groupRow + mma_acc_row(e);
          const int c = j * kMmaN + mma_acc_col(e);
          scores[r * kTileN + c] =
              t0 + c <= rowPosition[r] ? s.v[e] * kScale : -__int_as_float(0x7f800000);
        }
      }
      warp_sync();
      // The running softmax: kLanesPerRow neighbouring lanes share a row.
      {
        const int r = groupRow + lane / kLanesPerRow;
        const int first = lane % kLanesPerRow;
        float tileMax = -__int_as_float(0x7f800000);
        for (int c = first; c < kTileN; c += kLanesPerRow)
          tileMax = fmaxf(tileMax, scores[r * kTileN + c]);
#pragma unroll
        for (int offset = 1; offset < kLanesPerRow; offset *= 2)
          tileMax = fmaxf(tileMax, shfl_xor(tileMax, offset));
        const float oldMax = rowMax[r];
        const float newMax = fmaxf(oldMax, tileMax);
        const bool none = newMax == -__int_as_float(0x7f800000); // no key yet: all weights 0
        const float factor = none ? 1.0f : expf(oldMax - newMax);
        float sum = 0.0f;
        for (int c = first; c < kTileN; c += kLanesPerRow) {
          const float weight = none ? 0.0f : expf(scores[r * kTileN + c] - newMax);
          sum += weight;
          probabilities[r * kTileStride + c] = static_cast<u16>(pack_f16x2(weight, 0.0f) & 0xffffu);
        }
#pragma unroll
        for (int offset = 1; offset < kLanesPerRow; offset *= 2)
          sum += shfl_xor(sum, offset);
        if (first == 0) {
          rowMax[r] = newMax;
          rowSum[r] = rowSum[r] * factor + sum;
          rowFactor[r] = factor;
        }
      }
      warp_sync();
      // O = O · factor + P V.
#pragma unroll
      for (int j = 0; j < kHeadDim / kMmaN; ++j)
#pragma unroll
        for (int e = 0; e < kMmaAccElements; ++e)
          out[gi][j].v[e] *= rowFactor[groupRow + mma_acc_row(e)];
#pragma unroll
      for (int kk = 0; kk < kKeySteps; ++kk) {
        MmaA a;
        mma_load_a(a, probabilities + groupRow * kTileStride + kk * kMmaK, kTileStride);
#pragma unroll
        for (int j = 0; j < kHeadDim / kMmaN; ++j) {
          MmaB b;
          mma_load_b(b, valueTile + j * kMmaN * kTileStride + kk * kMmaK, kTileStride);
          mma(out[gi][j], a, b);
        }
      }
    }
    __syncthreads(); // every warp is done with the tile before the next is staged
  }

#pragma unroll
  for (int gi = 0; gi < kGroupsPerWarp; ++gi) {
    const int g = warp_id() + gi * kWarps;
    if (g >= kRowGroups)
      continue;
#pragma unroll
    for (int j = 0; j < kHeadDim / kMmaN; ++j)
#pragma unroll
      for (int e = 0; e < kMmaAccElements; ++e) {
        const int r = g * kMmaM + mma_acc_row(e);
        if (row0 + r >= p.rows)
          continue;
        const int d = j * kMmaN + mma_acc_col(e);
        out[gi][j].v[e] = rowPosition[r] >= 0 ? out[gi][j].v[e] / rowSum[r]
                                              : __int_as_float(0x7fc00000);
        p.out[static_cast<i64>(row0 + r) * kHeads * kHeadDim + h * kHeadDim + d] = out[gi][j].v[e];
      }
  }
}
