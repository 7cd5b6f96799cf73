{{BANNER}}
#include "greta_prelude.h"

using namespace greta;

{{CONSTANTS}}

{{PARAMS}}

{{> common/kv_cache}}

//===--- attention, flash route: a tile of query rows against the KV cache (prefill) ---===//
// Causal, grouped-query: query row s attends to cache rows 0..positions[s]; head h reads KV
// head h / (kHeads / kKVHeads); scores are scaled by kScale. Grid (ceil(rows / kTileM),
// kHeads). The block walks the cache in tiles of kKVTile keys staged in shared memory, up to
// the largest position of its rows; each warp owns kRowsPerWarp query rows and keeps a
// running softmax per row (maximum, sum, weighted values in registers), so scores are never
// stored. A position outside [0, ctx) writes a row of NaN (the CPU backend refuses it).
constexpr int kWarps = kBlock / kWarpSize;
constexpr int kKVTile = kTileN;
constexpr int kRowsPerWarp = (kTileM + kWarps - 1) / kWarps;
constexpr int kKVCols = kKVHeads * kHeadDim;
constexpr int kQueriesPerKVHead = kHeads / kKVHeads;
constexpr int kDimsPerLane = (kHeadDim + kWarpSize - 1) / kWarpSize;
static_assert(kHeads % kKVHeads == 0, "grouped-query attention");
static_assert(2 * kKVTile * kHeadDim * sizeof(float) <= 48 * 1024,
              "K and V tiles fit the portable shared memory");

GRETA_KERNEL(kBlock) {{ENTRY}}(const Params p) {
  wait_for_producers();
  __shared__ float keys[kKVTile][kHeadDim];
  __shared__ float values[kKVTile][kHeadDim];
  __shared__ int scratch[kWarps];
  const int row0 = blockIdx.x * kTileM;
  const int h = blockIdx.y;
  if (row0 >= p.rows)
    return;
  const int kvOffset = h / kQueriesPerKVHead * kHeadDim;
  const int lane = lane_id();

  // This warp's rows: their positions, queries and running softmax state.
  int position[kRowsPerWarp];
  float query[kRowsPerWarp][kDimsPerLane];
  float acc[kRowsPerWarp][kDimsPerLane];
  float runningMax[kRowsPerWarp];
  float runningSum[kRowsPerWarp];
  int lastPosition = -1;
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
    const int local = warp_id() * kRowsPerWarp + r;
    const int s = row0 + local;
    position[r] = local < kTileM && s < p.rows ? p.positions[s] : -1;
    if (position[r] < 0 || position[r] >= p.ctx)
      position[r] = -1; // no keys; the row is written as NaN
    const float *q = p.q + static_cast<i64>(s) * kHeads * kHeadDim + h * kHeadDim;
#pragma unroll
    for (int j = 0; j < kDimsPerLane; ++j) {
      const int d = lane + j * kWarpSize;
      query[r][j] = position[r] >= 0 && d < kHeadDim ? q[d] : 0.0f;
      acc[r][j] = 0.0f;
    }
    runningMax[r] = -__int_as_float(0x7f800000);
    runningSum[r] = 0.0f;
    lastPosition = max(lastPosition, position[r]);
  }
  lastPosition = block_reduce_max<kBlock>(lastPosition, scratch, -1);

  for (int t0 = 0; t0 <= lastPosition; t0 += kKVTile) {
    const int tileKeys = min(kKVTile, lastPosition - t0 + 1);
    for (int i = threadIdx.x; i < tileKeys * kHeadDim; i += kBlock) {
      const int j = i / kHeadDim;
      const int d = i % kHeadDim;
      const i64 at = static_cast<i64>(t0 + j) * kKVCols + kvOffset + d;
      keys[j][d] = kv_load(p.k_cache + at);
      values[j][d] = kv_load(p.v_cache + at);
    }
    __syncthreads();
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r) {
      // Keys t0 .. min(tile end, position): the same count on every lane of the warp.
      const int keysForRow = min(tileKeys, position[r] - t0 + 1);
      for (int j = 0; j < keysForRow; ++j) {
        float partial = 0.0f;
#pragma unroll
        for (int jj = 0; jj < kDimsPerLane; ++jj) {
          const int d = lane + jj * kWarpSize;
          if (d < kHeadDim)
            partial += query[r][jj] * keys[j][d];
        }
        const float score = warp_reduce_sum(partial) * kScale;
        const float newMax = fmaxf(runningMax[r], score);
        const float correction = expf(runningMax[r] - newMax); // 0 for the first key
        const float weight = expf(score - newMax);
        runningSum[r] = runningSum[r] * correction + weight;
#pragma unroll
        for (int jj = 0; jj < kDimsPerLane; ++jj) {
          const int d = lane + jj * kWarpSize;
          acc[r][jj] = acc[r][jj] * correction + (d < kHeadDim ? weight * values[j][d] : 0.0f);
        }
        runningMax[r] = newMax;
      }
    }
    __syncthreads();
  }

#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
    const int local = warp_id() * kRowsPerWarp + r;
    const int s = row0 + local;
    if (local >= kTileM || s >= p.rows)
      continue;
    float *out = p.out + static_cast<i64>(s) * kHeads * kHeadDim + h * kHeadDim;
    const bool valid = position[r] >= 0;
#pragma unroll
    for (int j = 0; j < kDimsPerLane; ++j) {
      const int d = lane + j * kWarpSize;
      if (d < kHeadDim)
        out[d] = valid ? acc[r][j] / runningSum[r] : __int_as_float(0x7fc00000);
    }
  }
}
