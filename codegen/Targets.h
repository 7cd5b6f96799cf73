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

/// The smallest block any template uses, and what every block size is a multiple of: two
/// 32-wide warps or one 64-wide wavefront.
inline constexpr int64_t kBlockGranule = 64;

enum class Vendor { Nvidia, Amd, Cpu };

/// The matrix instructions a target offers to the `gemm` and `flash` routes.
enum class MatrixUnit {
  None,       ///< vector ALUs only
  TensorCore, ///< NVIDIA mma.sync / wmma
  Mfma,       ///< AMD CDNA matrix fused multiply-add
};

/// Tile sizes of the `gemm` route (matmul, matmul_gate_up, lm_head on matrix units).
struct GemmTiles {
  int64_t tileM;   ///< rows (tokens) per block
  int64_t tileN;   ///< output columns (weight rows) per block
  int64_t tileK;   ///< reduction elements per shared-memory stage; a multiple of 32
  int64_t threads; ///< threads per block
};

/// Tile sizes of the `gemv` route (one token: bandwidth-bound, vector ALUs).
struct GemvTiles {
  int64_t tileN;   ///< output columns (weight rows) per block
  int64_t threads; ///< threads per block; threads / tileN of them share one row's reduction
  /// Split K across blocks when fewer than this many blocks would cover N (the partial sums
  /// are combined by the last block to finish, in a fixed order).
  int64_t minBlocksBeforeSplit;
  int64_t maxSplitK;
};

/// Tile sizes of attention.
struct AttentionTiles {
  int64_t flashTileM;   ///< query rows per block (flash)
  int64_t flashKVBytes; ///< shared memory for one K and one V tile (flash)
  int64_t flashThreads;
  int64_t splitKVThreads; ///< threads per (row, head) block (split_kv); its warps split the
                          ///< KV range and combine their partial softmaxes
};

struct TargetDesc {
  llvm::StringLiteral name; ///< "sm_90", "gfx942", "cpu"
  Vendor vendor;
  int64_t warpSize; ///< 32 or 64 (1 for the CPU)
  MatrixUnit matrixUnit;
  int64_t sharedMemoryBytes; ///< per block, without opt-in
  int64_t computeUnits;      ///< SMs / CUs: how many blocks fill the device
  GemvTiles gemv;
  GemmTiles gemm;
  AttentionTiles attention;
  int64_t rowThreads;         ///< threads per block of the one-row-per-block families
  int64_t elementwiseThreads; ///< threads per block of silu_mul / add
};

/// Every target, in the table's order.
llvm::ArrayRef<TargetDesc> allTargets();

/// The target named `name`, or null.
const TargetDesc *findTarget(llvm::StringRef name);

/// "sm_90, gfx942, gfx90a, cpu", for messages.
std::string targetNames();

/// The target whose tiles shape kernels when none is named.
const TargetDesc &defaultTarget();

} // namespace greta::codegen
