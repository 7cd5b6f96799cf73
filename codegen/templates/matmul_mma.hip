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
// A block computes a kTileM x kTileN output tile. The weight rows of the tile travel as raw
// quant blocks: one super-stage at a time (kSuperK values: a whole block, 256 values for the
// K-quants), copied from global memory with 16-byte loads into a raw shared tile. Each K stage
// of kTileK values then stages, as binary16 in shared memory, the input rows (prologue applied,
// converted from f32) and the weight rows (dequantised by dequant_chunk from the raw tile), and
// each warp multiplies its kWarpTileM x kWarpTileN part with the target's matrix instruction
// (prelude: kMmaM x kMmaN x kMmaK, f32 accumulators). The next super-stage's raw loads are
// issued at the start of a super-stage and stored after its last stage's products, so their
// latency hides behind the whole super-stage; the next stage's inputs are fetched before a
// stage's products. Rows past `rows` and columns past kN read zeros and are not written, so any
// sequence length and any N work.
{{#GATE_UP}}
constexpr int kMatrices = 2; // gate rows [0, kTileN) and up rows [kTileN, 2 kTileN) of a B tile
{{/GATE_UP}}
{{^GATE_UP}}
constexpr int kMatrices = 1;
{{/GATE_UP}}

{{> common/mma_tile}}

constexpr int kChunksPerStageRow = kTileK / kChunk;
constexpr int kInputVectorsPerRow = kTileK / 4; // float4 loads of x per row and stage

// Each thread stages the same few x vectors every stage: fixed counts, so the loops unroll and
// all of a thread's global loads of a stage are in flight together.
constexpr int kInputVectors = kTileM * kInputVectorsPerRow;
constexpr int kInputsPerThread = (kInputVectors + kBlock - 1) / kBlock;

/// One thread's share of a stage's inputs, fetched from global memory while the previous stage
/// is multiplied and kept as loaded: nothing computes on them before they are stored (after
/// that stage's products), so a thread does not wait for its loads ahead of the products. The
/// prologue and the conversion to binary16 happen in commit_inputs.
static_assert(kBlock % kInputVectorsPerRow == 0,
              "a thread's input vectors share one K offset (and one gamma vector)");
struct InputRegisters {
  float4 x[kInputsPerThread];
{{#PROLOGUE}}
  float4 gamma;
{{/PROLOGUE}}
};

/// Loads x[row0 .. row0 + kTileM)[k0 .. k0 + kTileK) (rows past `rows` read the last row; they
/// are zeroed when stored) and the norm weights of the range.
__device__ __forceinline__ void fetch_inputs(const Params &p, InputRegisters &regs, int row0,
                                             int rows, int k0) {
  const int kk = static_cast<int>(threadIdx.x) % kInputVectorsPerRow * 4;
#pragma unroll
  for (int t = 0; t < kInputsPerThread; ++t) {
    const int i = static_cast<int>(threadIdx.x) + t * kBlock;
    const int row = min(row0 + i / kInputVectorsPerRow, rows - 1);
    regs.x[t] = *reinterpret_cast<const float4 *>(p.x + static_cast<i64>(row) * kK + k0 + kk);
  }
{{#PROLOGUE}}
  regs.gamma = *reinterpret_cast<const float4 *>(p.norm + k0 + kk);
{{/PROLOGUE}}
}

/// Stores fetched inputs into the binary16 x tile, prologue applied; rows past `rows` as zeros.
__device__ __forceinline__ void commit_inputs(const InputRegisters &regs, u16 *xTile, int row0,
                                              int rows, const float *invRms) {
#pragma unroll
  for (int t = 0; t < kInputsPerThread; ++t) {
    const int i = static_cast<int>(threadIdx.x) + t * kBlock;
    const int r = i / kInputVectorsPerRow;
    const bool valid = row0 + r < rows;
    float v[4] = {regs.x[t].x, regs.x[t].y, regs.x[t].z, regs.x[t].w};
{{#PROLOGUE}}
    const float scale = invRms[min(r, kTileM - 1)];
    v[0] = prologue(v[0], regs.gamma.x, scale);
    v[1] = prologue(v[1], regs.gamma.y, scale);
    v[2] = prologue(v[2], regs.gamma.z, scale);
    v[3] = prologue(v[3], regs.gamma.w, scale);
{{/PROLOGUE}}
#pragma unroll
    for (int j = 0; j < 4; ++j)
      v[j] = valid ? v[j] : 0.0f;
    if (i < kInputVectors)
      *reinterpret_cast<uint2 *>(xTile + r * kStride + i % kInputVectorsPerRow * 4) =
          make_uint2(pack_f16x2(v[0], v[1]), pack_f16x2(v[2], v[3]));
  }
}

{{#PROLOGUE}}
/// invRms[r] = 1/rms of row row0 + r of x, one warp per row (squares summed in double, as
/// rms_norm computes them). Ends with a barrier. A lane reads float4s, kRmsLoadsInFlight of
/// them before it adds any: a block reduces kTileM whole rows of L2-resident input before its
/// first product, and one scalar load at a time made that a chain of L2 round trips.
constexpr int kRmsLoadsInFlight = 8;
__device__ __forceinline__ void tile_inv_rms(const Params &p, int row0, int rows, float *invRms) {
  static_assert(kK % 4 == 0, "rows are whole float4s");
  for (int r = warp_id(); r < kTileM; r += kWarps) {
    double sumSquares = 0.0;
    if (row0 + r < rows) {
      const float4 *x = reinterpret_cast<const float4 *>(p.x + static_cast<i64>(row0 + r) * kK);
#pragma unroll kRmsLoadsInFlight
      for (int k = lane_id(); k < kK / 4; k += kWarpSize) {
        const float4 v = x[k];
        sumSquares += static_cast<double>(v.x) * v.x + static_cast<double>(v.y) * v.y +
                      static_cast<double>(v.z) * v.z + static_cast<double>(v.w) * v.w;
      }
    }
    sumSquares = warp_reduce_sum(sumSquares);
    if (lane_id() == 0)
      invRms[r] = 1.0f / sqrtf(static_cast<float>(sumSquares / kK) + kEps);
  }
  __syncthreads();
}

{{/PROLOGUE}}

// Super-stages: whole quant blocks (so a row's raw bytes of one are contiguous) and whole stages.
constexpr int kSuperK = kTileK > kQuantBlockElements ? kTileK : kQuantBlockElements;
constexpr int kStagesPerSuper = kSuperK / kTileK;
constexpr int kRawRowBytes = kSuperK / kQuantBlockElements * kQuantBlockBytes;
// A row's raw bytes start anywhere in a 16-byte granule (ggml blocks are 2-byte aligned): its
// copy starts at the granule, so a shared row holds the rounded-up bytes plus one granule.
constexpr int kRawVectorsPerRow = (kRawRowBytes + 15) / 16 + 1;
constexpr int kRawStride = 16 * kRawVectorsPerRow; // bytes
static_assert(kTileK % kChunk == 0, "a stage is whole weight chunks");
static_assert(kChunk % 8 == 0, "a chunk is whole 16-byte shared-memory stores");
static_assert(kSuperK % kTileK == 0 && kSuperK % kQuantBlockElements == 0,
              "a super-stage is whole stages and whole quant blocks");
static_assert(kK % kSuperK == 0, "K is whole super-stages");
static_assert(kRowBytes == static_cast<i64>(kK) / kQuantBlockElements * kQuantBlockBytes,
              "row stride agrees with the block layout");

// Each thread stages the same few raw vectors and weight chunks every stage: fixed counts, so
// the loops unroll and all of a thread's global loads of a stage are in flight together.
constexpr int kRawVectors = kWeightRows * kRawVectorsPerRow;
constexpr int kWeightChunks = kWeightRows * kChunksPerStageRow;
constexpr int kRawPerThread = (kRawVectors + kBlock - 1) / kBlock;
constexpr int kChunksPerThread = (kWeightChunks + kBlock - 1) / kBlock;

/// Weight row `r` of the tile (gate_up: gate rows, then up rows), clamped to the last row (the
/// caller zeroes what it decodes for columns past kN).
__device__ __forceinline__ const u8 *weight_row(const Params &p, int col0, int r) {
{{#GATE_UP}}
  const int n = col0 + r % kTileN;
  const u8 *matrix = r < kTileN ? p.gate : p.up;
{{/GATE_UP}}
{{^GATE_UP}}
  const int n = col0 + r;
  const u8 *matrix = p.weight;
{{/GATE_UP}}
  return matrix + static_cast<i64>(min(n, kN - 1)) * kRowBytes;
}

/// Where super-stage `super` of a weight row starts, relative to its 16-byte granule.
__device__ __forceinline__ int raw_offset(const u8 *row, int super) {
  const u8 *start = row + static_cast<i64>(super) * kRawRowBytes;
  return static_cast<int>(reinterpret_cast<u64>(start) & 15);
}

/// One thread's share of a super-stage's raw weight bytes: 16-byte granules, consecutive threads
/// on consecutive granules of a row (coalesced). Granules past a row's bytes are not read.
struct RawRegisters {
  uint4 v[kRawPerThread];
};

/// Loads super-stage `super` of every weight row of the tile (columns col0 ..).
__device__ __forceinline__ void fetch_raw(const Params &p, RawRegisters &regs, int col0,
                                          int super) {
#pragma unroll
  for (int t = 0; t < kRawPerThread; ++t) {
    const int i = static_cast<int>(threadIdx.x) + t * kBlock;
    const int r = i / kRawVectorsPerRow;
    const int v = i % kRawVectorsPerRow;
    const u8 *bytes =
        weight_row(p, col0, min(r, kWeightRows - 1)) + static_cast<i64>(super) * kRawRowBytes;
    const int offset = static_cast<int>(reinterpret_cast<u64>(bytes) & 15);
    const uint4 *granules = reinterpret_cast<const uint4 *>(bytes - offset);
    const bool needed = i < kRawVectors && 16 * v < offset + kRawRowBytes;
    regs.v[t] = needed ? granules[v] : make_uint4(0, 0, 0, 0);
  }
}

/// Stores a fetched super-stage into the raw tile (row r at r * kRawStride bytes).
__device__ __forceinline__ void commit_raw(const RawRegisters &regs, uint4 *raw) {
#pragma unroll
  for (int t = 0; t < kRawPerThread; ++t) {
    const int i = static_cast<int>(threadIdx.x) + t * kBlock;
    if (i < kRawVectors)
      raw[i] = regs.v[t];
  }
}

/// Dequantises stage `inSuper` of super-stage `super` of every weight row from the raw tile into
/// the binary16 weight tile; columns past kN become zeros.
__device__ __forceinline__ void dequant_stage(const Params &p, const u8 *raw, u16 *wTile, int col0,
                                              int super, int inSuper) {
#pragma unroll
  for (int t = 0; t < kChunksPerThread; ++t) {
    const int i = static_cast<int>(threadIdx.x) + t * kBlock;
    const int r = min(i / kChunksPerStageRow, kWeightRows - 1);
    const int c = i % kChunksPerStageRow;
{{#GATE_UP}}
    const bool valid = col0 + r % kTileN < kN;
{{/GATE_UP}}
{{^GATE_UP}}
    const bool valid = col0 + r < kN;
{{/GATE_UP}}
    const u8 *row = raw + r * kRawStride + raw_offset(weight_row(p, col0, r), super);
    float values[kChunk];
    dequant_chunk(row, inSuper * kChunksPerStageRow + c, values);
#pragma unroll
    for (int j = 0; j < kChunk; ++j)
      values[j] = valid ? values[j] : 0.0f;
    if (i < kWeightChunks) {
      uint4 *to = reinterpret_cast<uint4 *>(wTile + r * kStride + c * kChunk);
#pragma unroll
      for (int j = 0; j < kChunk / 8; ++j)
        to[j] = make_uint4(pack_f16x2(values[8 * j], values[8 * j + 1]),
                           pack_f16x2(values[8 * j + 2], values[8 * j + 3]),
                           pack_f16x2(values[8 * j + 4], values[8 * j + 5]),
                           pack_f16x2(values[8 * j + 6], values[8 * j + 7]));
    }
  }
}

{{#TWO_BLOCKS}}
// Two blocks per compute unit (the emitter asks where the raw registers would allow only one).
GRETA_KERNEL_BLOCKS(kBlock, 2) {{ENTRY}}(const Params p) {
{{/TWO_BLOCKS}}
{{^TWO_BLOCKS}}
GRETA_KERNEL(kBlock) {{ENTRY}}(const Params p) {
{{/TWO_BLOCKS}}
  wait_for_producers();
  alignas(16) __shared__ u16 xTile[kTileM * kStride];
  alignas(16) __shared__ u16 wTile[kWeightRows * kStride];
  alignas(16) __shared__ uint4 raw[kRawVectors];
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

  // The first super-stage's raw loads go out before the prologue's reductions.
  RawRegisters rawNext;
  fetch_raw(p, rawNext, col0, 0);
{{#PROLOGUE}}
  __shared__ float invRms[kTileM];
  tile_inv_rms(p, row0, rows, invRms);
{{/PROLOGUE}}
{{^PROLOGUE}}
  const float *invRms = nullptr; // no prologue: commit_inputs stores x as is
{{/PROLOGUE}}

  TileAcc acc;

  InputRegisters inputs;
  fetch_inputs(p, inputs, row0, rows, 0);
  commit_raw(rawNext, raw);
  __syncthreads();
  const u8 *rawBytes = reinterpret_cast<const u8 *>(raw);
  for (int stage = 0; stage < kStages; ++stage) {
    const int super = stage / kStagesPerSuper;
    const int inSuper = stage % kStagesPerSuper;
    commit_inputs(inputs, xTile, row0, rows, invRms);
    dequant_stage(p, rawBytes, wTile, col0, super, inSuper);
    __syncthreads();
    // The next super-stage's raw bytes are loaded now and stored after this super-stage's last
    // products (the raw tile's last reads were before the barrier above); the next stage's
    // inputs likewise. (The last stage fetches itself again: no branch around the loads.)
    if (inSuper == 0)
      fetch_raw(p, rawNext, col0, min(super + 1, kStages / kStagesPerSuper - 1));
    fetch_inputs(p, inputs, row0, rows, min(stage + 1, kStages - 1) * kTileK);
    multiply_stage(acc, xTile, wTile);
    if (inSuper == kStagesPerSuper - 1)
      commit_raw(rawNext, raw);
    __syncthreads();
  }

  store_tile(p, acc, row0, col0, rows);
}
