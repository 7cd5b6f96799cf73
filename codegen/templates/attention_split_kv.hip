{{BANNER}}
#include "greta_prelude.h"

using namespace greta;

{{CONSTANTS}}

{{PARAMS}}

{{> common/kv_cache}}

//===--- attention, split_kv route: one query row against the KV cache (decode) ---===//
// Causal, grouped-query: query row s attends to cache rows 0..positions[s]; head h reads KV
// head h / (kHeads / kKVHeads); scores are scaled by kScale. Grid (kKVHeads, rows, kSplits).
// A block serves the kQueriesPerKVHead query heads of one KV head (their keys and values are
// read once for all of them) over split c of the row's keys, so a long context spreads over
// kKVHeads x kSplits blocks instead of queueing behind kHeads of them. How many splits a row
// uses (`splits`) follows from its key count: enough that each warp has a step of keys, at
// most kSplits; the other blocks return at once. A short context then pays for one or a few
// partial results, not kSplits of nearly empty ones, and a long one gets every split. The
// block's warps take the split's keys in steps of kKeysPerStep (warp w the steps w, w + kWarps,
// ...), each keeping a running softmax per query head (maximum, sum, weighted values); the
// block combines its warps. A row of one split writes its output there; otherwise each block
// writes its partial result to g_partials, and the last block of a (row, KV head) to arrive
// combines the splits in a fixed order (so the result does not depend on timing) and resets
// the arrival counter for the next launch (a graph replay starts from zero). Rows from
// kScratchRows on (never in a decode step of one token) are not split: their split-0 block
// takes every key and writes the output itself.
// A position outside [0, ctx) writes a row of NaN (the CPU backend refuses it).
constexpr int kWarps = kBlock / kWarpSize;
constexpr int kKVCols = kKVHeads * kHeadDim;
constexpr int kQueriesPerKVHead = kHeads / kKVHeads;
constexpr int kDimsPerLane = (kHeadDim + kWarpSize - 1) / kWarpSize;
constexpr int kScratchRows = 4;
// Keys a warp loads and scores at once: their loads are in flight together and their score
// reductions interleave, and the running softmax is rescaled once per step instead of once per
// key (one key at a time left a decode step at 2k context waiting on each key's chain of loads,
// shuffles and exponentials: 22.7 µs a layer on an H200).
constexpr int kKeysPerStep = 4;
// A split takes at least a step of keys for every warp: fewer keys would leave warps idle while
// adding a partial result to combine (16 fixed splits cost a 2k-context decode step 10.8 µs a
// layer on an H200: four steps a warp at 2k, 16 partials of a few keys each at 64).
constexpr int kMinSplitKeys = kWarps * kKeysPerStep;
static_assert(kHeads % kKVHeads == 0, "grouped-query attention");
static_assert(kSplits >= 1 && kSplits <= kWarpSize, "the combine takes a lane per split");

/// A lane's dimensions of a head: kDimsPerLane neighbours from lane · kDimsPerLane, so a key or
/// value row is read in vector loads (four binary16 values in 8 bytes). Dimensions past the head
/// (head_dim not a multiple of the warp) read as 0.
__device__ __forceinline__ void load_dims(const KVValue *row, int lane, float (&out)[kDimsPerLane]) {
  const int first = lane * kDimsPerLane;
  if constexpr (kDimsPerLane % 4 == 0 && kHeadDim % (4 * kWarpSize) == 0) {
#pragma unroll
    for (int j = 0; j < kDimsPerLane; j += 4) {
      const float4 four = kv_load4(row + first + j);
      out[j] = four.x;
      out[j + 1] = four.y;
      out[j + 2] = four.z;
      out[j + 3] = four.w;
    }
  } else {
#pragma unroll
    for (int j = 0; j < kDimsPerLane; ++j)
      out[j] = first + j < kHeadDim ? kv_load(row + first + j) : 0.0f;
  }
}

/// A running softmax of one query head: maximum score, sum of weights, weighted values (this
/// lane's dimensions, load_dims').
struct Running {
  float max;
  float sum;
  float values[kDimsPerLane];
};

/// A split's result per (row, KV head, split, query head): maximum, sum, then kHeadDim values.
constexpr int kPartialFloats = 2 + kHeadDim;
__device__ float g_partials[kScratchRows * kKVHeads * kSplits * kQueriesPerKVHead * kPartialFloats];
__device__ unsigned int g_arrivals[kScratchRows * kKVHeads];

/// Weight of a partial result of maximum `max` against the combined maximum `total` (0 for a
/// part that saw no key, whose maximum is -inf).
__device__ __forceinline__ float rescale(float max, float total) {
  return max == -__int_as_float(0x7f800000) ? 0.0f : expf(max - total);
}

GRETA_KERNEL(kBlock) {{ENTRY}}(const Params p) {
  // Launched after its producers (no early start: greta_prelude.h says why); the launch after
  // it may start early.
  let_dependents_start();
  __shared__ float warpMax[kWarps][kQueriesPerKVHead];
  __shared__ float warpSum[kWarps][kQueriesPerKVHead];
  __shared__ float warpValues[kWarps][kQueriesPerKVHead][kHeadDim];
  __shared__ bool isLast;
  const int g = blockIdx.x; // KV head
  const int s = blockIdx.y;
  const int split = blockIdx.z;
  if (s >= p.rows)
    return;
  const int position = p.positions[s];
  const int firstHead = g * kQueriesPerKVHead;
  float *out = p.out + static_cast<i64>(s) * kHeads * kHeadDim + firstHead * kHeadDim;
  if (position < 0 || position >= p.ctx) {
    if (split == 0)
      for (int d = threadIdx.x; d < kQueriesPerKVHead * kHeadDim; d += kBlock)
        out[d] = __int_as_float(0x7fc00000);
    return;
  }
  // Keys [begin, end) of this split: equal shares of the row's position + 1 keys over the
  // splits the row uses.
  const int keys = position + 1;
  const int splits = kSplits > 1 && s < kScratchRows
                         ? min(kSplits, (keys + kMinSplitKeys - 1) / kMinSplitKeys)
                         : 1;
  if (split >= splits)
    return;
  const int begin = static_cast<int>(static_cast<i64>(keys) * split / splits);
  const int end = static_cast<int>(static_cast<i64>(keys) * (split + 1) / splits);
  const float *q = p.q + static_cast<i64>(s) * kHeads * kHeadDim + firstHead * kHeadDim;
  const int kvOffset = g * kHeadDim;
  const int lane = lane_id();

  float query[kQueriesPerKVHead][kDimsPerLane];
  Running run[kQueriesPerKVHead];
#pragma unroll
  for (int h = 0; h < kQueriesPerKVHead; ++h) {
#pragma unroll
    for (int j = 0; j < kDimsPerLane; ++j) {
      const int d = lane * kDimsPerLane + j;
      query[h][j] = d < kHeadDim ? q[h * kHeadDim + d] * kScale : 0.0f;
      run[h].values[j] = 0.0f;
    }
    run[h].max = -__int_as_float(0x7f800000);
    run[h].sum = 0.0f;
  }
  for (int t0 = begin + warp_id() * kKeysPerStep; t0 < end; t0 += kWarps * kKeysPerStep) {
    // Keys past the split's end reread its last key; their weights are 0.
    float k[kKeysPerStep][kDimsPerLane], v[kKeysPerStep][kDimsPerLane];
#pragma unroll
    for (int u = 0; u < kKeysPerStep; ++u) {
      const i64 at = static_cast<i64>(min(t0 + u, end - 1)) * kKVCols + kvOffset;
      load_dims(p.k_cache + at, lane, k[u]);
      load_dims(p.v_cache + at, lane, v[u]);
    }
    float score[kKeysPerStep][kQueriesPerKVHead];
#pragma unroll
    for (int u = 0; u < kKeysPerStep; ++u)
#pragma unroll
      for (int h = 0; h < kQueriesPerKVHead; ++h) {
        score[u][h] = 0.0f;
#pragma unroll
        for (int j = 0; j < kDimsPerLane; ++j)
          score[u][h] += query[h][j] * k[u][j];
      }
    // The keys' and heads' reductions interleave: independent shuffle chains.
#pragma unroll
    for (int offset = kWarpSize / 2; offset > 0; offset /= 2)
#pragma unroll
      for (int u = 0; u < kKeysPerStep; ++u)
#pragma unroll
        for (int h = 0; h < kQueriesPerKVHead; ++h)
          score[u][h] += shfl_xor(score[u][h], offset);
#pragma unroll
    for (int h = 0; h < kQueriesPerKVHead; ++h) {
      float newMax = run[h].max;
#pragma unroll
      for (int u = 0; u < kKeysPerStep; ++u)
        if (t0 + u < end)
          newMax = fmaxf(newMax, score[u][h]);
      const float correction = expf(run[h].max - newMax); // 0 for the first step
      run[h].sum *= correction;
#pragma unroll
      for (int j = 0; j < kDimsPerLane; ++j)
        run[h].values[j] *= correction;
#pragma unroll
      for (int u = 0; u < kKeysPerStep; ++u) {
        const float weight = t0 + u < end ? expf(score[u][h] - newMax) : 0.0f;
        run[h].sum += weight;
#pragma unroll
        for (int j = 0; j < kDimsPerLane; ++j)
          run[h].values[j] += weight * v[u][j];
      }
      run[h].max = newMax;
    }
  }

  // Combine the warps: rescale each to the block's maximum (a warp that saw no key has sum 0).
#pragma unroll
  for (int h = 0; h < kQueriesPerKVHead; ++h) {
    if (lane == 0) {
      warpMax[warp_id()][h] = run[h].max;
      warpSum[warp_id()][h] = run[h].sum;
    }
#pragma unroll
    for (int j = 0; j < kDimsPerLane; ++j) {
      const int d = lane * kDimsPerLane + j;
      if (d < kHeadDim)
        warpValues[warp_id()][h][d] = run[h].values[j];
    }
  }
  __syncthreads();
  float *partials = g_partials + static_cast<i64>((s * kKVHeads + g) * kSplits) *
                                     kQueriesPerKVHead * kPartialFloats;
  for (int i = threadIdx.x; i < kQueriesPerKVHead * kHeadDim; i += kBlock) {
    const int h = i / kHeadDim;
    const int d = i % kHeadDim;
    float blockMax = warpMax[0][h];
    for (int w = 1; w < kWarps; ++w)
      blockMax = fmaxf(blockMax, warpMax[w][h]);
    float total = 0.0f, sum = 0.0f;
    for (int w = 0; w < kWarps; ++w) {
      const float weight = rescale(warpMax[w][h], blockMax);
      total += warpSum[w][h] * weight;
      sum += warpValues[w][h][d] * weight;
    }
    if (splits == 1) {
      out[i] = sum / total;
      continue;
    }
    float *mine = partials + (split * kQueriesPerKVHead + h) * kPartialFloats;
    if (d == 0) {
      mine[0] = blockMax;
      mine[1] = total;
    }
    mine[2 + d] = sum;
  }
  if (splits == 1)
    return;
  __threadfence(); // this block's partials are visible before its arrival counts
  __syncthreads();
  unsigned int *arrivals = &g_arrivals[s * kKVHeads + g];
  if (threadIdx.x == 0)
    isLast = atomicAdd(arrivals, 1u) == static_cast<unsigned int>(splits) - 1;
  __syncthreads();
  if (!isLast)
    return;
  __threadfence();
  // The splits' weights against the row's maximum, and each head's total: a warp per query
  // head, a lane per split. Every load of the combine is issued before its first use (a loop
  // that used each partial as it loaded it waited for one L2 round trip per split).
  const volatile float *all = partials;
  __shared__ float splitWeight[kQueriesPerKVHead][kSplits];
  __shared__ float headTotal[kQueriesPerKVHead];
  for (int h = warp_id(); h < kQueriesPerKVHead; h += kWarps) {
    const int c = lane;
    float max = -__int_as_float(0x7f800000), sum = 0.0f;
    if (c < splits) {
      max = all[(c * kQueriesPerKVHead + h) * kPartialFloats];
      sum = all[(c * kQueriesPerKVHead + h) * kPartialFloats + 1];
    }
    const float rowMax = warp_reduce_max(max);
    const float weight = c < splits ? rescale(max, rowMax) : 0.0f;
    const float total = warp_reduce_sum(sum * weight);
    if (c < kSplits)
      splitWeight[h][c] = weight;
    if (lane == 0)
      headTotal[h] = total;
  }
  __syncthreads();
  for (int i = threadIdx.x; i < kQueriesPerKVHead * kHeadDim; i += kBlock) {
    const int h = i / kHeadDim;
    const int d = i % kHeadDim;
    float parts[kSplits];
#pragma unroll
    for (int c = 0; c < kSplits; ++c)
      parts[c] = c < splits ? all[(c * kQueriesPerKVHead + h) * kPartialFloats + 2 + d] : 0.0f;
    float sum = 0.0f;
#pragma unroll
    for (int c = 0; c < kSplits; ++c)
      sum += parts[c] * splitWeight[h][c];
    out[i] = sum / headTotal[h];
  }
  if (threadIdx.x == 0)
    *arrivals = 0;
}
