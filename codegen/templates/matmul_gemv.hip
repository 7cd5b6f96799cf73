{{BANNER}}
#include "greta_prelude.h"

using namespace greta;

{{CONSTANTS}}

{{PARAMS}}

{{> common/half}}

{{QUANT}}

{{> common/group_reduce}}

{{BODIES}}

{{> common/matmul_io}}

//===--- gemv route: out[s, n] = epilogue(prologue(x[s]) · W[n]) for few rows ---===//
// Bandwidth-bound: every weight byte is read once per row. Grid (ceil(kN / kTileN), rows,
// kSplitK). A block computes kTileN output columns; each is reduced by a group of
// kGroup = kBlock / kTileN threads that walk the column's weight row kChunk values at a time
// (dequantising in the inner loop) against the input row, which stays in L1/L2.
constexpr int kGroup = kBlock / kTileN;
constexpr int kChunksPerRow = kK / kChunk;
constexpr int kChunksPerSplit = kChunksPerRow / kSplitK;
static_assert(kK % kChunk == 0, "rows decode in whole chunks");
static_assert(kChunksPerRow % kSplitK == 0, "split-K ranges are whole chunks");
static_assert(kBlock % kTileN == 0 && (kGroup & (kGroup - 1)) == 0,
              "each column is reduced by a power-of-two group of threads");
static_assert(kRowBytes == static_cast<i64>(kK) / kQuantBlockElements * kQuantBlockBytes,
              "row stride agrees with the block layout");

{{#SPLIT_K}}
// Split-K: the kSplitK blocks of a column tile each reduce a K range into g_partials; the
// last of them to arrive adds the ranges up in split order (so the sum does not depend on
// timing), applies the epilogue and resets the tile's counter for the next launch (a graph
// replay starts from zero). Used for one row only (decode); the runtime runs one launch of a
// kernel at a time.
constexpr int kColumnTiles = (kN + kTileN - 1) / kTileN;
__device__ float g_partials[kSplitK * kN];
{{#GATE_UP}}
__device__ float g_partials_up[kSplitK * kN];
{{/GATE_UP}}
__device__ unsigned int g_arrivals[kColumnTiles];
{{/SPLIT_K}}

GRETA_KERNEL(kBlock) {{ENTRY}}(const Params p) {
  __shared__ float scratch[kBlock / kWarpSize];
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
{{#PROLOGUE}}
  // 1/rms of the row, as rms_norm computes it (squares summed in double).
  __shared__ double squaresScratch[kBlock / kWarpSize];
  double sumSquares = 0.0;
  for (int k = threadIdx.x; k < kK; k += kBlock)
    sumSquares += static_cast<double>(x[k]) * x[k];
  sumSquares = block_reduce_sum<kBlock>(sumSquares, squaresScratch);
  const float invRms = 1.0f / sqrtf(static_cast<float>(sumSquares / kK) + kEps);
{{/PROLOGUE}}
{{^PROLOGUE}}
  const float invRms = 1.0f; // no prologue: input_at reads x as is
{{/PROLOGUE}}

  const int member = threadIdx.x % kGroup;
  const int n = blockIdx.x * kTileN + threadIdx.x / kGroup;
  const int split = blockIdx.z;
  float acc = 0.0f;
{{#GATE_UP}}
  float accUp = 0.0f;
{{/GATE_UP}}
  if (n < kN) {
{{#GATE_UP}}
    const u8 *w = p.gate + static_cast<i64>(n) * kRowBytes;
    const u8 *wUp = p.up + static_cast<i64>(n) * kRowBytes;
{{/GATE_UP}}
{{^GATE_UP}}
    const u8 *w = p.weight + static_cast<i64>(n) * kRowBytes;
{{/GATE_UP}}
    const int end = (split + 1) * kChunksPerSplit;
    for (int c = split * kChunksPerSplit + member; c < end; c += kGroup) {
      float wv[kChunk];
      dequant_chunk(w, c, wv);
{{#GATE_UP}}
      float uv[kChunk];
      dequant_chunk(wUp, c, uv);
{{/GATE_UP}}
#pragma unroll
      for (int i = 0; i < kChunk; ++i) {
        const float xv = input_at(p, x, c * kChunk + i, invRms);
        acc += wv[i] * xv;
{{#GATE_UP}}
        accUp += uv[i] * xv;
{{/GATE_UP}}
      }
    }
  }
  acc = group_reduce_sum<kGroup>(acc, scratch);
{{#GATE_UP}}
  accUp = group_reduce_sum<kGroup>(accUp, scratch);
{{/GATE_UP}}

{{^SPLIT_K}}
  if (member == 0 && n < kN)
{{#GATE_UP}}
    store_output(p, s, n, acc, accUp);
{{/GATE_UP}}
{{^GATE_UP}}
    store_output(p, s, n, acc);
{{/GATE_UP}}
{{/SPLIT_K}}
{{#SPLIT_K}}
  if (member == 0 && n < kN) {
    g_partials[split * kN + n] = acc;
{{#GATE_UP}}
    g_partials_up[split * kN + n] = accUp;
{{/GATE_UP}}
  }
  __threadfence(); // this block's partials are visible before its arrival counts
  __syncthreads();
  __shared__ bool isLast;
  if (threadIdx.x == 0)
    isLast = atomicAdd(&g_arrivals[blockIdx.x], 1u) == kSplitK - 1;
  __syncthreads();
  if (!isLast)
    return;
  __threadfence();
  if (member == 0 && n < kN) {
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
