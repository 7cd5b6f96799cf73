//===- Targets.h - The targets GRETA emits kernels for ----------*- C++ -*-===//
//
// One table of per-target parameters, read by the lowering (tile sizes, block sizes, when to
// split a reduction) and by the emitter (which matrix instruction a template may use). Device
// code never spells a warp size: kernels read GRETA_WARP_SIZE from the shared prelude, and the
// table's `warpSize` is the same number on the host side.
//
// A bundle may list several targets (`--target sm_90,gfx942`) while each gk.kernel has one
// source, so every tile choice in the table is valid on every GPU row of it: block sizes are
// multiples of 64 (a whole number of warps at either width) and static shared memory stays
// within kPortableSharedMemoryBytes. The lowering picks the tiles of one target (the first GPU
// target asked for); the others run the same code at their own warp width.
//
// Thread-safety: immutable tables.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <string>

namespace greta::codegen {

/// Static shared memory every GPU of the table gives a block without opting in (48 KiB on
/// NVIDIA; AMD's LDS is 64 KiB): the budget of every template.
inline constexpr int64_t kPortableSharedMemoryBytes = 48 * 1024;
/// Dynamic shared memory a kernel may ask for (manifest params.shared_bytes) on every GPU of the
/// table: AMD CDNA's 64 KiB of LDS per workgroup; NVIDIA Hopper allows 227 KiB once a function
/// opts in, which the runtime does (its f16Gemm ring budgets may pass this: sm_90 kernels run
/// on NVIDIA only).
inline constexpr int64_t kPortableDynamicSharedMemoryBytes = 64 * 1024;

/// The prompt length the prefill products' tiles are chosen for (their grids scale with the
/// rows; the benchmark's pp512).
inline constexpr int64_t kPlannedPromptRows = 512;

/// Blocks of a prefill product's grid for a kPlannedPromptRows prompt: row tiles of `tileM`
/// times column tiles of `tileN` over its `n` output columns.
constexpr int64_t plannedPromptBlocks(int64_t tileM, int64_t n, int64_t tileN) {
  return (kPlannedPromptRows + tileM - 1) / tileM * ((n + tileN - 1) / tileN);
}

/// The smallest block any template uses, and what every block size is a multiple of: two
/// 32-wide warps or one 64-wide wavefront.
inline constexpr int64_t kBlockGranule = 64;

/// The narrowest warp of the table (NVIDIA's 32): per-warp tiles are sized so that a block's
/// warps divide them at this width and at every wider one.
inline constexpr int64_t kNarrowestWarp = 32;

enum class Vendor { Nvidia, Amd, Cpu };

/// The matrix instructions a target offers to the `gemm` and `flash` routes.
enum class MatrixUnit {
  None,       ///< vector ALUs only
  TensorCore, ///< NVIDIA mma.sync / wmma
  Mfma,       ///< AMD CDNA matrix fused multiply-add
};

/// The shape of one matrix instruction (a warp's kMmaM x kMmaN x kMmaK product; 0 without
/// matrix units). Device code reads the same numbers from the prelude (kMmaM, kMmaN, kMmaK),
/// which picks the instruction from the target macros; this copy lets the emitter check tiles.
struct MatrixTile {
  int64_t m;
  int64_t n;
  int64_t k;
};

/// Tile sizes of the `gemm` route (matmul, matmul_gate_up, lm_head: on the matrix units where
/// the target has them, else the portable vector-ALU GEMM).
struct GemmTiles {
  int64_t tileM;   ///< rows (tokens) per block
  int64_t tileN;   ///< weight rows per block: output columns, or half of them for gate_up
                   ///< (a gate_up block stages gate and up rows of the same columns)
  int64_t tileK;   ///< reduction elements per shared-memory stage; a multiple of 32
  int64_t threads; ///< threads per block
  /// Dynamic shared memory a block's ring of stages may fill (matmul_mma_f16; 0 elsewhere):
  /// as many stages as fit, at most four.
  int64_t stageBytes = 0;
  /// The same for a product whose grid holds at most a block per compute unit for a prompt of
  /// kPlannedPromptRows: no second block shares the compute unit's shared memory.
  int64_t soloStageBytes = 0;
};

/// Tile sizes of the `gemv` route (one token: bandwidth-bound, vector ALUs). Each warp reduces
/// whole weight rows, its lanes issuing 16-byte loads along them (matmul_gemv.hip), so a block's
/// tile_n is a whole number of rows per warp at either width: a multiple of
/// threads / kNarrowestWarp.
struct GemvTiles {
  int64_t threads;  ///< threads per block
  int64_t maxTileN; ///< output columns (weight rows) per block at most
  /// Fewer blocks than this: halve tile_n (down to threads / kNarrowestWarp), then split K
  /// across blocks (the last block to finish adds the partial sums, in a fixed order).
  int64_t minBlocks;
  /// Blocks resident at once (two per compute unit: the decoders stay within 128 registers),
  /// the size of a wave when a smaller tile would fill the last one better.
  int64_t residentBlocks;
  int64_t maxSplitK;
  /// Rows of at least this many values make enough blocks by splitting K rather than by
  /// fewer rows per block (LowerToKernels' matrixTiles).
  int64_t splitFirstK;
  /// Shared memory a block stages its range of the input row in (f32); longer rows split K.
  int64_t maxStagedBytes;
};

/// Tile sizes of attention.
struct AttentionTiles {
  int64_t flashTileM;   ///< query rows per block (flash)
  int64_t flashKVBytes; ///< shared memory for one K and one V tile (flash)
  int64_t flashMaxKeys; ///< keys per tile at most (flash)
  int64_t flashThreads;
  int64_t splitKVThreads; ///< threads per (KV head, row, split) block (split_kv); its warps
                          ///< split the block's keys and combine their partial softmaxes
  int64_t splitKVBlocks;  ///< blocks a row's keys split over per KV head (split_kv): the last
                          ///< to finish combines them in order
};

struct TargetDesc {
  llvm::StringLiteral name; ///< "sm_90", "gfx942", "cpu"
  Vendor vendor;
  int64_t warpSize; ///< 32 or 64 (1 for the CPU)
  MatrixUnit matrixUnit; ///< the gemm route's template: matmul_mma with one, matmul_gemm without
  MatrixTile matrixTile; ///< its instruction's shape (the prelude's kMmaM x kMmaN x kMmaK)
  int64_t sharedMemoryBytes; ///< per block, without opt-in
  int64_t computeUnits;      ///< SMs / CUs: how many blocks fill the device
  GemvTiles gemv;
  GemmTiles gemm;
  /// The gemm route on binary16 weights from dequant_f16 (matmul_mma_f16; matrix units only).
  GemmTiles f16Gemm;
  AttentionTiles attention;
  int64_t rowThreads;         ///< threads per block of the one-row-per-block families
  int64_t elementwiseThreads; ///< threads per block of silu_mul / add
  /// Hopper's warpgroup matrix instructions (wgmma, sm_90a): matmul_mma_f16 multiplies its
  /// 128-row tiles with them (common/wgmma_tile.hip) instead of mma.sync.
  bool warpgroupMma = false;
};

/// Every target, in the table's order.
llvm::ArrayRef<TargetDesc> allTargets();

/// The target named `name`, or null.
const TargetDesc *findTarget(llvm::StringRef name);

/// "sm_90, gfx942, gfx90a, cpu", for messages.
std::string targetNames();

/// The target whose tiles shape kernels when none is named.
const TargetDesc &defaultTarget();

/// The target a bundle listing `names` gets its kernels lowered and emitted for: the first GPU
/// target listed; the CPU's row when only `cpu` is (portable kernels, no matrix units); the
/// default when none is. Null when a name is unknown (`unknown` then holds it).
const TargetDesc *kernelTarget(llvm::ArrayRef<std::string> names, std::string &unknown);

} // namespace greta::codegen
