{{BANNER}}
#include "greta_prelude.h"

using namespace greta;

{{CONSTANTS}}

{{PARAMS}}

{{> common/half}}

{{BODIES}}

{{> common/matmul_io}}

//===--- gemm route on binary16 weights: out[s, n] = epilogue(prologue(x[s]) · W16[n]) ---===//
// The weights were decoded once for the whole launch by dequant_f16 into scratch buffers (row n
// at n · kK binary16 values), so a stage of them is a plain copy: each stage's weight tile is
// streamed into one of kWeightStages shared slots with asynchronous 16-byte copies issued
// kWeightStages - 1 stages ahead, while the matrix units work on the current stage (no
// registers held, no decoding between the copies and the products). The input rows travel as
// in matmul_mma (fetched into registers a stage ahead, prologue applied and converted to
// binary16 when stored) into two alternating shared tiles. One barrier per stage: the slot a
// stage's copies fill and the input tile it stores were last read by the stage before, which
// every warp has finished by then. Rows past `rows` read the last row and are not written;
// columns past kN read the last weight row and are not written.
{{#GATE_UP}}
constexpr int kMatrices = 2; // gate rows [0, kTileN) and up rows [kTileN, 2 kTileN) of a tile
{{/GATE_UP}}
{{^GATE_UP}}
constexpr int kMatrices = 1;
{{/GATE_UP}}

{{> common/mma_tile}}

constexpr int kVectorsPerRow = kTileK / 8; // 16-byte vectors of a weight row per stage
constexpr int kWeightVectors = kWeightRows * kVectorsPerRow;
constexpr int kWeightVectorsPerThread = (kWeightVectors + kBlock - 1) / kBlock;
static_assert(kWeightStages >= 2, "a stage's copies are in flight while another is multiplied");

/// Row r of the block's weight tile (gate_up: gate rows, then up rows) at columns col0 ..,
/// clamped to the last row (whose products are not stored).
__device__ __forceinline__ const u16 *weight_row(const Params &p, int col0, int r) {
{{#GATE_UP}}
  const int n = min(col0 + r % kTileN, kN - 1);
  const u16 *matrix = r < kTileN ? p.gate_f16 : p.up_f16;
{{/GATE_UP}}
{{^GATE_UP}}
  const int n = min(col0 + r, kN - 1);
  const u16 *matrix = p.weight_f16;
{{/GATE_UP}}
  return matrix + static_cast<i64>(n) * kK;
}

/// Starts the copies of stage `stage`'s weight rows into `slot` and closes them into one group
/// (an empty group past the last stage, so every stage waits for the same count).
__device__ __forceinline__ void fetch_weights(const Params &p, u16 *slot, int col0, int stage) {
  if (stage < kStages) {
#pragma unroll
    for (int t = 0; t < kWeightVectorsPerThread; ++t) {
      const int i = static_cast<int>(threadIdx.x) + t * kBlock;
      if (i < kWeightVectors) {
        const int r = i / kVectorsPerRow;
        const int v = i % kVectorsPerRow;
        copy_async_16(slot + r * kStride + v * 8, weight_row(p, col0, r) + stage * kTileK + v * 8);
      }
    }
  }
  copy_async_commit();
}

GRETA_KERNEL(kBlock) {{ENTRY}}(const Params p) {
  wait_for_producers();
  alignas(16) __shared__ u16 xTile[2][kTileM * kStride];
  alignas(16) __shared__ u16 wTile[kWeightStages][kWeightRows * kStride];
  const int rows = p.rows;
  // Row tiles vary fastest over the grid: the blocks that read one weight tile run together,
  // so it comes from DRAM once and from L2 for the others.
  const int row0 = blockIdx.x * kTileM;
  const int col0 = blockIdx.y * kTileN;
  if (row0 >= rows)
    return;

  // The first stages' weight copies go out before the prologue's reductions.
#pragma unroll
  for (int stage = 0; stage < kWeightStages - 1; ++stage)
    fetch_weights(p, wTile[stage], col0, stage);
{{#PROLOGUE}}
  __shared__ float invRms[kTileM];
  tile_inv_rms(p, row0, rows, invRms);
{{/PROLOGUE}}
{{^PROLOGUE}}
  const float *invRms = nullptr; // no prologue: commit_inputs stores x as is
{{/PROLOGUE}}

  InputRegisters inputs;
  fetch_inputs(p, inputs, row0, rows, 0);
  commit_inputs(inputs, xTile[0], row0, rows, invRms);
  fetch_inputs(p, inputs, row0, rows, min(1, kStages - 1) * kTileK);

  TileAcc acc;
  for (int stage = 0; stage < kStages; ++stage) {
    // This thread's copies of the stage are done; the barrier makes everyone's visible, and
    // ends every warp's reads of the previous stage's slot and input tile.
    copy_async_wait<kWeightStages - 2>();
    __syncthreads();
    const int ahead = stage + kWeightStages - 1;
    fetch_weights(p, wTile[ahead % kWeightStages], col0, ahead);
    multiply_stage(acc, xTile[stage % 2], wTile[stage % kWeightStages]);
    if (stage + 1 < kStages) {
      commit_inputs(inputs, xTile[(stage + 1) % 2], row0, rows, invRms);
      fetch_inputs(p, inputs, row0, rows, min(stage + 2, kStages - 1) * kTileK);
    }
  }

  store_tile(p, acc, row0, col0, rows);
}
