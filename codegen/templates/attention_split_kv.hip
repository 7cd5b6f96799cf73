{{BANNER}}
#include "greta_prelude.h"

using namespace greta;

{{CONSTANTS}}

{{PARAMS}}

//===--- attention, split_kv route: one query row against the KV cache (decode) ---===//
// Causal, grouped-query: query row s attends to cache rows 0..positions[s]; head h reads KV
// head h / (kHeads / kKVHeads); scores are scaled by kScale. Grid (kHeads, rows). The block's
// warps split the KV range (warp w takes rows w, w + kWarps, ...), each keeping a running
// softmax (maximum, sum, weighted values); the block then combines the warps' partial results.
// A position outside [0, ctx) writes a row of NaN (the CPU backend refuses it).
constexpr int kWarps = kBlock / kWarpSize;
constexpr int kKVCols = kKVHeads * kHeadDim;
constexpr int kQueriesPerKVHead = kHeads / kKVHeads;
constexpr int kDimsPerLane = (kHeadDim + kWarpSize - 1) / kWarpSize;
static_assert(kHeads % kKVHeads == 0, "grouped-query attention");

GRETA_KERNEL(kBlock) {{ENTRY}}(const Params p) {
  __shared__ float warpMax[kWarps];
  __shared__ float warpSum[kWarps];
  __shared__ float warpValues[kWarps][kHeadDim];
  const int h = blockIdx.x;
  const int s = blockIdx.y;
  if (s >= p.rows)
    return;
  const int position = p.positions[s];
  float *out = p.out + static_cast<i64>(s) * kHeads * kHeadDim + h * kHeadDim;
  if (position < 0 || position >= p.ctx) {
    for (int d = threadIdx.x; d < kHeadDim; d += kBlock)
      out[d] = __int_as_float(0x7fc00000);
    return;
  }
  const float *q = p.q + static_cast<i64>(s) * kHeads * kHeadDim + h * kHeadDim;
  const int kvOffset = h / kQueriesPerKVHead * kHeadDim;
  const int lane = lane_id();

  float query[kDimsPerLane];
  float values[kDimsPerLane];
#pragma unroll
  for (int j = 0; j < kDimsPerLane; ++j) {
    const int d = lane + j * kWarpSize;
    query[j] = d < kHeadDim ? q[d] : 0.0f;
    values[j] = 0.0f;
  }
  float runningMax = -__int_as_float(0x7f800000);
  float runningSum = 0.0f;
  for (int t = warp_id(); t <= position; t += kWarps) {
    const float *key = p.k_cache + static_cast<i64>(t) * kKVCols + kvOffset;
    const float *value = p.v_cache + static_cast<i64>(t) * kKVCols + kvOffset;
    float partial = 0.0f;
#pragma unroll
    for (int j = 0; j < kDimsPerLane; ++j) {
      const int d = lane + j * kWarpSize;
      if (d < kHeadDim)
        partial += query[j] * key[d];
    }
    const float score = warp_reduce_sum(partial) * kScale;
    const float newMax = fmaxf(runningMax, score);
    const float correction = expf(runningMax - newMax); // 0 for the first key
    const float weight = expf(score - newMax);
    runningSum = runningSum * correction + weight;
#pragma unroll
    for (int j = 0; j < kDimsPerLane; ++j) {
      const int d = lane + j * kWarpSize;
      values[j] = values[j] * correction + (d < kHeadDim ? weight * value[d] : 0.0f);
    }
    runningMax = newMax;
  }

  // Combine the warps: rescale each to the block's maximum (a warp that saw no key has sum 0).
  if (lane == 0) {
    warpMax[warp_id()] = runningMax;
    warpSum[warp_id()] = runningSum;
  }
#pragma unroll
  for (int j = 0; j < kDimsPerLane; ++j) {
    const int d = lane + j * kWarpSize;
    if (d < kHeadDim)
      warpValues[warp_id()][d] = values[j];
  }
  __syncthreads();
  float blockMax = warpMax[0];
  for (int w = 1; w < kWarps; ++w)
    blockMax = fmaxf(blockMax, warpMax[w]);
  float total = 0.0f;
  for (int w = 0; w < kWarps; ++w)
    total += warpSum[w] * expf(warpMax[w] - blockMax);
  for (int d = threadIdx.x; d < kHeadDim; d += kBlock) {
    float sum = 0.0f;
    for (int w = 0; w < kWarps; ++w)
      sum += warpValues[w][d] * expf(warpMax[w] - blockMax);
    out[d] = sum / total;
  }
}
