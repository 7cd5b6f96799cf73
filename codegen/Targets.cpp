//===- Targets.cpp - The targets GRETA emits kernels for ------------------===//
//
// The table. Tile sizes are the same on every GPU row today (the templates are portable and
// correct first; the performance work tunes rows of this table, nothing else).
//
//===----------------------------------------------------------------------===//

#include "codegen/Targets.h"

namespace greta::codegen {
namespace {

/// One token's matrix-vector product: 4 output rows per block of 256 threads, so 64 threads
/// (two warps, or one wavefront) reduce each row. Small N splits K until about two blocks per
/// compute unit are in flight.
constexpr GemvTiles gemvTiles(int64_t computeUnits) {
  return GemvTiles{/*tileN=*/4, /*threads=*/256, /*minBlocksBeforeSplit=*/2 * computeUnits,
                   /*maxSplitK=*/8};
}

/// Many tokens: 64x64 output tiles over 32-element K stages (one Q8_0/Q4_0 block, an eighth of
/// a K-quant super-block); each of 256 threads owns a 4x4 micro-tile. Shared memory: a 64x32 x
/// tile and one (gate_up: two) 64x32 weight tiles, 8 KiB each.
constexpr GemmTiles kGemmTiles{/*tileM=*/64, /*tileN=*/64, /*tileK=*/32, /*threads=*/256};

/// Flash attention: 32 query rows per block; K and V tiles share 32 KiB (the key count per tile
/// follows from head_dim). Split-KV decode: 256 threads per (row, head).
constexpr AttentionTiles kAttentionTiles{/*flashTileM=*/32, /*flashKVBytes=*/32 * 1024,
                                         /*flashThreads=*/256, /*splitKVThreads=*/256};

constexpr int64_t kRowThreads = 256;
constexpr int64_t kElementwiseThreads = 256;

// clang-format off
constexpr TargetDesc kTargets[] = {
    // NVIDIA H100 / H200 (Hopper), through HIP-on-CUDA and NVRTC.
    {"sm_90",  Vendor::Nvidia, /*warpSize=*/32, MatrixUnit::TensorCore, 48 * 1024,
     /*computeUnits=*/132, gemvTiles(132), kGemmTiles, kAttentionTiles, kRowThreads,
     kElementwiseThreads},
    // AMD MI300 (CDNA3), ROCm >= 6.
    {"gfx942", Vendor::Amd,    /*warpSize=*/64, MatrixUnit::Mfma,       64 * 1024,
     /*computeUnits=*/304, gemvTiles(304), kGemmTiles, kAttentionTiles, kRowThreads,
     kElementwiseThreads},
    // AMD MI200 (CDNA2): one GCD.
    {"gfx90a", Vendor::Amd,    /*warpSize=*/64, MatrixUnit::Mfma,       64 * 1024,
     /*computeUnits=*/110, gemvTiles(110), kGemmTiles, kAttentionTiles, kRowThreads,
     kElementwiseThreads},
    // The CPU backend runs the plan itself; kernels are still emitted (for bundles that list
    // GPU targets too) with the portable tiles.
    {"cpu",    Vendor::Cpu,    /*warpSize=*/1,  MatrixUnit::None,       kPortableSharedMemoryBytes,
     /*computeUnits=*/1,   gemvTiles(132), kGemmTiles, kAttentionTiles, kRowThreads,
     kElementwiseThreads},
};
// clang-format on

constexpr bool isPortable(const TargetDesc &t) {
  return t.gemv.threads % kBlockGranule == 0 && t.gemm.threads % kBlockGranule == 0 &&
         t.attention.flashThreads % kBlockGranule == 0 &&
         t.attention.splitKVThreads % kBlockGranule == 0 && t.rowThreads % kBlockGranule == 0 &&
         t.elementwiseThreads % kBlockGranule == 0 && t.gemm.tileK % 32 == 0 &&
         t.gemv.threads % t.gemv.tileN == 0 &&
         t.attention.flashKVBytes <= kPortableSharedMemoryBytes;
}
constexpr bool allPortable() {
  for (const TargetDesc &target : kTargets)
    if (!isPortable(target))
      return false;
  return true;
}
static_assert(allPortable(),
              "every target's tiles must run on every GPU of the table (see Targets.h)");

} // namespace

llvm::ArrayRef<TargetDesc> allTargets() { return kTargets; }

const TargetDesc *findTarget(llvm::StringRef name) {
  for (const TargetDesc &target : kTargets)
    if (target.name == name)
      return &target;
  return nullptr;
}

std::string targetNames() {
  std::string names;
  for (const TargetDesc &target : kTargets)
    names += (names.empty() ? "" : ", ") + target.name.str();
  return names;
}

const TargetDesc &defaultTarget() { return kTargets[0]; }

} // namespace greta::codegen
