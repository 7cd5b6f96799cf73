{{BANNER}}
#include "greta_prelude.h"

using namespace greta;

{{CONSTANTS}}

{{PARAMS}}

{{> common/half}}

{{BODIES}}

{{> common/matmul_io}}

//===--- gemm route on binary16 operands: out[s, n] = epilogue(X16[s] · W16[n]) ---===//
// The weights were decoded once for the whole launch by dequant_f16 into scratch buffers (row n
// at n · kK binary16 values), and the input rows rounded to binary16, prologue applied, once by
// cast_f16 (x_f16; the kernel's own prologue is that launch's): a stage of either is a plain
// copy. Each stage's input and weight tiles are streamed into one of kStagesInFlight shared
// slots with asynchronous 16-byte copies issued kStagesInFlight - 1 stages ahead, while the
// matrix units work on the current stage (no registers held, no conversion between the copies
// and the products). One barrier per stage: the slot a stage's copies fill was last read by
// the stage before, which every warp has finished by then. Rows past `rows` read the last row
// and are not written; columns past kN read the last weight row and are not written.
{{#GATE_UP}}
constexpr int kMatrices = 2; // gate rows [0, kTileN) and up rows [kTileN, 2 kTileN) of a tile
{{/GATE_UP}}
{{^GATE_UP}}
constexpr int kMatrices = 1;
{{/GATE_UP}}

{{#WGMMA}}
#if defined(GRETA_TARGET_NVIDIA) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
{{> common/wgmma_tile}}
#endif
{{/WGMMA}}
#if !defined(GRETA_WGMMA_TILES) // no wgmma tiles, or a GPU without sm_90a: the mma path
{{> common/mma_tile}}
#endif

constexpr int kVectorsPerRow = kTileK / 8; // 16-byte vectors of a row per stage
constexpr int kInputVectors = kTileM * kVectorsPerRow;
constexpr int kWeightVectors = kWeightRows * kVectorsPerRow;
constexpr int kInputVectorsPerThread = (kInputVectors + kBlock - 1) / kBlock;
constexpr int kWeightVectorsPerThread = (kWeightVectors + kBlock - 1) / kBlock;
static_assert(kStagesInFlight - kProductsInFlight >= 1,
              "a stage's copies are in flight while another is multiplied");

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

/// Starts the copies of stage `stage`'s input rows (row0 .., clamped to the last row) into
/// `xSlot` and weight rows into `wSlot`, and closes them into one group (an empty group past
/// the last stage, so every stage waits for the same count).
__device__ __forceinline__ void fetch_stage(const Params &p, u16 *xSlot, u16 *wSlot, int row0,
                                            int rows, int col0, int stage) {
  if (stage < kStages) {
    const int k0 = stage * kTileK;
#pragma unroll
    for (int t = 0; t < kInputVectorsPerThread; ++t) {
      const int i = static_cast<int>(threadIdx.x) + t * kBlock;
      if (i < kInputVectors) {
        const int r = i / kVectorsPerRow, v = i % kVectorsPerRow;
        const u16 *row = p.x_f16 + static_cast<i64>(min(row0 + r, rows - 1)) * kK;
        copy_async_16(xSlot + slot_offset(r, v), row + k0 + v * 8);
      }
    }
#pragma unroll
    for (int t = 0; t < kWeightVectorsPerThread; ++t) {
      const int i = static_cast<int>(threadIdx.x) + t * kBlock;
      if (i < kWeightVectors) {
        const int r = i / kVectorsPerRow, v = i % kVectorsPerRow;
        copy_async_16(wSlot + slot_offset(r, v), weight_row(p, col0, r) + k0 + v * 8);
      }
    }
  }
  copy_async_commit();
}

/// The slots' binary16 values, in dynamic shared memory (manifest params.shared_bytes): past
/// the 48 KiB a block's static shared memory may hold on NVIDIA, where they would fit two
/// stages of 128-row tiles only.
constexpr int kSlotValues = (kTileM + kWeightRows) * kStride;

GRETA_KERNEL(kBlock) {{ENTRY}}(const Params p) {
  wait_for_producers();
  extern __shared__ __align__(16) u16 dynamicShared[];
#if defined(GRETA_WGMMA_TILES)
  // The swizzled tiles start on 1024-byte boundaries (wgmma_tile.hip checks the room for it).
  u16 *slots = dynamicShared + (-static_cast<int>(__cvta_generic_to_shared(dynamicShared)) &
                                (kSwizzleBytes - 1)) / 2;
#else
  u16 *slots = dynamicShared; // kStagesInFlight x (input tile, weight tile)
#endif
  auto xTile = [&](int slot) { return slots + slot * kSlotValues; };
  auto wTile = [&](int slot) { return slots + slot * kSlotValues + kTileM * kStride; };
  const int rows = p.rows;
  // Row tiles vary fastest over the grid: the blocks that read one weight tile run together,
  // so it comes from DRAM once and from L2 for the others.
  const int row0 = blockIdx.x * kTileM;
  const int col0 = blockIdx.y * kTileN;
  if (row0 >= rows)
    return;

  // Stages in flight: kFetchAhead of copies ahead of the one multiplied, and the products of
  // kProductsInFlight (the one multiplied and, with wgmma, maybe one before it).
  constexpr int kFetchAhead = kStagesInFlight - kProductsInFlight;
#pragma unroll
  for (int stage = 0; stage < kFetchAhead; ++stage)
    fetch_stage(p, xTile(stage), wTile(stage), row0, rows, col0, stage);

  TileAcc acc;
  for (int stage = 0; stage < kStages; ++stage) {
    // This thread's copies of the stage are done (and, with wgmma, its warpgroup's products of
    // the stage kProductsInFlight back: stage_ready); the barrier makes everyone's visible, and
    // ends every warp's reads of the slot that stage used, which the fetch below fills.
    copy_async_wait<kFetchAhead - 1>();
    stage_ready();
    __syncthreads();
    const int ahead = stage + kFetchAhead;
    fetch_stage(p, xTile(ahead % kStagesInFlight), wTile(ahead % kStagesInFlight), row0, rows,
                col0, ahead);
    multiply_stage(acc, xTile(stage % kStagesInFlight), wTile(stage % kStagesInFlight));
  }

  finish_products(acc);
  store_tile(p, acc, row0, col0, rows);
}
