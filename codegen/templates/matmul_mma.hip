{{BANNER}}
#include "greta_prelude.h"

using namespace greta;

{{CONSTANTS}}

{{PARAMS}}

{{> common/half}}

{{QUANT}}

{{BODIES}}

{{> common/matmul_io}}

//===--- gemm route on the matrix units: out[s, n] = epilogue(prologue(x[s]) · W[n]) ---===//
// A block computes a kTileM x kTileN output tile. Per K stage of kTileK values it stages, as
// binary16 in shared memory, the input rows (prologue applied, converted from f32) and the
// weight rows (dequantised from their blocks on the way in), then each warp multiplies its
// kWarpTileM x kWarpTileN part with the target's matrix instruction (prelude: kMmaM x kMmaN x
// kMmaK, f32 accumulators). Two stage buffers: each thread fetches its share of the next stage
// into registers before this stage's products and stores it after them, one barrier per stage. Rows past `rows` and columns past kN read zeros and are
// not written, so any sequence length and any N work.
{{#GATE_UP}}
constexpr int kMatrices = 2; // gate rows [0, kTileN) and up rows [kTileN, 2 kTileN) of a B tile
{{/GATE_UP}}
{{^GATE_UP}}
constexpr int kMatrices = 1;
{{/GATE_UP}}
constexpr int kWeightRows = kMatrices * kTileN;
// Eight halves (16 bytes) of padding per shared row: rows stay 16-byte aligned (wide stores,
// ldmatrix) and eight consecutive rows start on different banks.
constexpr int kStride = kTileK + 8;
constexpr int kWarps = kBlock / kWarpSize;
constexpr int kWarpsM = kTileM % (2 * kMmaM) == 0 && kWarps % 2 == 0 ? 2 : 1;
constexpr int kWarpsN = kWarps / kWarpsM;
constexpr int kWarpTileM = kTileM / kWarpsM;
constexpr int kWarpTileN = kTileN / kWarpsN;
constexpr int kFragsM = kWarpTileM / kMmaM;
constexpr int kFragsN = kWarpTileN / kMmaN;
constexpr int kChunksPerStageRow = kTileK / kChunk;
constexpr int kInputVectorsPerRow = kTileK / 4; // float4 loads of x per row and stage
constexpr int kStages = kK / kTileK;
static_assert(kTileM % (kWarpsM * kMmaM) == 0 && kTileN % (kWarpsN * kMmaN) == 0,
              "the warps cover the tile in whole matrix-instruction tiles");
static_assert(kTileK % kMmaK == 0 && kTileK % kChunk == 0 && kTileK % 4 == 0,
              "a stage is whole instruction steps, weight chunks and float4 loads");
static_assert(kChunk % 8 == 0, "a chunk is whole 16-byte shared-memory stores");
static_assert(kK % kTileK == 0, "K is whole stages");
static_assert(kRowBytes == static_cast<i64>(kK) / kQuantBlockElements * kQuantBlockBytes,
              "row stride agrees with the block layout");

// Each thread stages the same few x vectors and weight chunks every stage: fixed counts, so the
// loops unroll and all of a thread's global loads of a stage are in flight together.
constexpr int kInputVectors = kTileM * kInputVectorsPerRow;
constexpr int kWeightChunks = kWeightRows * kChunksPerStageRow;
constexpr int kInputsPerThread = (kInputVectors + kBlock - 1) / kBlock;
constexpr int kChunksPerThread = (kWeightChunks + kBlock - 1) / kBlock;

/// One thread's share of a stage, fetched from global memory and converted to binary16 while
/// the previous stage is multiplied, stored to shared memory after.
struct StageRegisters {
  uint2 x[kInputsPerThread];                   ///< four input values each
  uint4 w[kChunksPerThread][kChunk / 8];       ///< eight weight values each
};

/// Fetches x[row0 .. row0 + kTileM)[k0 .. k0 + kTileK) (prologue applied) and the weight rows of
/// columns col0 .. col0 + kTileN (gate_up: of both matrices), values k0 .. k0 + kTileK,
/// dequantised; rows past `rows` and columns past kN read as zeros.
__device__ __forceinline__ void fetch_stage(const Params &p, StageRegisters &regs, int row0,
                                            int rows, int col0, int k0, const float *invRms) {
#pragma unroll
  for (int t = 0; t < kInputsPerThread; ++t) {
    const int i = static_cast<int>(threadIdx.x) + t * kBlock;
    const int r = i / kInputVectorsPerRow;
    const int kk = i % kInputVectorsPerRow * 4;
    // Out-of-range rows read the last row and are zeroed after: no branch around the loads.
    const bool valid = i < kInputVectors && row0 + r < rows;
    const int row = min(row0 + r, rows - 1);
    const float4 x = *reinterpret_cast<const float4 *>(p.x + static_cast<i64>(row) * kK + k0 + kk);
    float v[4] = {x.x, x.y, x.z, x.w};
{{#PROLOGUE}}
    const float4 gamma = *reinterpret_cast<const float4 *>(p.norm + k0 + kk);
    const float scale = invRms[min(r, kTileM - 1)];
    v[0] = prologue(v[0], gamma.x, scale);
    v[1] = prologue(v[1], gamma.y, scale);
    v[2] = prologue(v[2], gamma.z, scale);
    v[3] = prologue(v[3], gamma.w, scale);
{{/PROLOGUE}}
#pragma unroll
    for (int j = 0; j < 4; ++j)
      v[j] = valid ? v[j] : 0.0f;
    regs.x[t] = make_uint2(pack_f16x2(v[0], v[1]), pack_f16x2(v[2], v[3]));
  }
#pragma unroll
  for (int t = 0; t < kChunksPerThread; ++t) {
    const int i = static_cast<int>(threadIdx.x) + t * kBlock;
    const int r = i / kChunksPerStageRow;
    const int c = i % kChunksPerStageRow;
{{#GATE_UP}}
    const int n = col0 + r % kTileN;
    const u8 *matrix = r < kTileN ? p.gate : p.up;
{{/GATE_UP}}
{{^GATE_UP}}
    const int n = col0 + r;
    const u8 *matrix = p.weight;
{{/GATE_UP}}
    // Columns past kN decode the last row and are zeroed after, as rows past `rows` are.
    const bool valid = i < kWeightChunks && n < kN;
    float values[kChunk];
    dequant_chunk(matrix + static_cast<i64>(min(n, kN - 1)) * kRowBytes, k0 / kChunk + c, values);
#pragma unroll
    for (int j = 0; j < kChunk; ++j)
      values[j] = valid ? values[j] : 0.0f;
#pragma unroll
    for (int j = 0; j < kChunk / 8; ++j)
      regs.w[t][j] = make_uint4(pack_f16x2(values[8 * j], values[8 * j + 1]),
                                pack_f16x2(values[8 * j + 2], values[8 * j + 3]),
                                pack_f16x2(values[8 * j + 4], values[8 * j + 5]),
                                pack_f16x2(values[8 * j + 6], values[8 * j + 7]));
  }
}

/// Stores a fetched stage into one shared-memory stage buffer.
__device__ __forceinline__ void commit_stage(const StageRegisters &regs, u16 *xTile, u16 *wTile) {
#pragma unroll
  for (int t = 0; t < kInputsPerThread; ++t) {
    const int i = static_cast<int>(threadIdx.x) + t * kBlock;
    if (i < kInputVectors)
      *reinterpret_cast<uint2 *>(xTile + i / kInputVectorsPerRow * kStride +
                                 i % kInputVectorsPerRow * 4) = regs.x[t];
  }
#pragma unroll
  for (int t = 0; t < kChunksPerThread; ++t) {
    const int i = static_cast<int>(threadIdx.x) + t * kBlock;
    if (i < kWeightChunks) {
      uint4 *to = reinterpret_cast<uint4 *>(wTile + i / kChunksPerStageRow * kStride +
                                            i % kChunksPerStageRow * kChunk);
#pragma unroll
      for (int j = 0; j < kChunk / 8; ++j)
        to[j] = regs.w[t][j];
    }
  }
}

GRETA_KERNEL(kBlock) {{ENTRY}}(const Params p) {
  alignas(16) __shared__ u16 xTile[2][kTileM * kStride];
  alignas(16) __shared__ u16 wTile[2][kWeightRows * kStride];
{{#LAST_ROW}}
  const int rows = 1; // lm_head: x points at the last row
{{/LAST_ROW}}
{{^LAST_ROW}}
  const int rows = p.rows;
{{/LAST_ROW}}
  const int row0 = blockIdx.y * kTileM;
  const int col0 = blockIdx.x * kTileN;
  if (row0 >= rows)
    return;

{{#PROLOGUE}}
  // 1/rms of each row of the tile, one warp per row (squares summed in double).
  __shared__ float invRms[kTileM];
  for (int r = warp_id(); r < kTileM; r += kWarps) {
    double sumSquares = 0.0;
    if (row0 + r < rows) {
      const float *x = p.x + static_cast<i64>(row0 + r) * kK;
      for (int k = lane_id(); k < kK; k += kWarpSize)
        sumSquares += static_cast<double>(x[k]) * x[k];
    }
    sumSquares = warp_reduce_sum(sumSquares);
    if (lane_id() == 0)
      invRms[r] = 1.0f / sqrtf(static_cast<float>(sumSquares / kK) + kEps);
  }
  __syncthreads();
{{/PROLOGUE}}
{{^PROLOGUE}}
  const float *invRms = nullptr; // no prologue: fetch_stage reads x as is
{{/PROLOGUE}}

  const int warpM = warp_id() / kWarpsN;
  const int warpN = warp_id() % kWarpsN;
  MmaAcc acc[kFragsM][kFragsN];
{{#GATE_UP}}
  MmaAcc accUp[kFragsM][kFragsN];
{{/GATE_UP}}

  StageRegisters next;
  fetch_stage(p, next, row0, rows, col0, 0, invRms);
  commit_stage(next, xTile[0], wTile[0]);
  __syncthreads();
  for (int stage = 0; stage < kStages; ++stage) {
    const int buffer = stage % 2;
    // The next stage's loads are issued before this stage's products and stored after them,
    // into the other buffer (last read before the previous barrier).
    // (The last stage fetches itself again into the buffer nobody reads: no branch.)
    fetch_stage(p, next, row0, rows, col0, min(stage + 1, kStages - 1) * kTileK, invRms);
    const u16 *x = xTile[buffer] + warpM * kWarpTileM * kStride;
    const u16 *w = wTile[buffer] + warpN * kWarpTileN * kStride;
#pragma unroll
    for (int kk = 0; kk < kTileK; kk += kMmaK) {
      MmaA a[kFragsM];
#pragma unroll
      for (int i = 0; i < kFragsM; ++i)
        mma_load_a(a[i], x + i * kMmaM * kStride + kk, kStride);
#pragma unroll
      for (int j = 0; j < kFragsN; ++j) {
        MmaB b;
        mma_load_b(b, w + j * kMmaN * kStride + kk, kStride);
#pragma unroll
        for (int i = 0; i < kFragsM; ++i)
          mma(acc[i][j], a[i], b);
{{#GATE_UP}}
        mma_load_b(b, w + (kTileN + j * kMmaN) * kStride + kk, kStride);
#pragma unroll
        for (int i = 0; i < kFragsM; ++i)
          mma(accUp[i][j], a[i], b);
{{/GATE_UP}}
      }
    }
    commit_stage(next, xTile[buffer ^ 1], wTile[buffer ^ 1]);
    __syncthreads();
  }

#pragma unroll
  for (int i = 0; i < kFragsM; ++i)
#pragma unroll
    for (int j = 0; j < kFragsN; ++j)
#pragma unroll
      for (int e = 0; e < kMmaAccElements; ++e) {
        const int row = row0 + warpM * kWarpTileM + i * kMmaM + mma_acc_row(e);
        const int n = col0 + warpN * kWarpTileN + j * kMmaN + mma_acc_col(e);
        if (row < rows && n < kN)
{{#GATE_UP}}
          store_output(p, row, n, acc[i][j].v[e], accUp[i][j].v[e]);
{{/GATE_UP}}
{{^GATE_UP}}
          store_output(p, row, n, acc[i][j].v[e]);
{{/GATE_UP}}
      }
}
