//===- Targets.cpp - The targets GRETA emits kernels for ------------------===//
//
// The table. Tile sizes are the same on every GPU row today (the templates are portable and
// correct first; the performance work tunes rows of this table, nothing else).
//
//===----------------------------------------------------------------------===//

#include "codegen/Targets.h"

#include <algorithm>

namespace greta::codegen {
namespace {

/// One token's matrix-vector product: 256 threads, 32 weight rows per block (four per 32-wide
/// warp, eight per wavefront), so every lane keeps several 16-byte loads in flight and the input
/// row a block stages is shared by 32 rows. N too small for a wave of blocks over the compute
/// units takes fewer rows per block (down to 8), then splits K. The staged input range stays
/// within 36 KiB, so several blocks fit a compute unit: 9216 values as f32, about 15,500 as the int16
/// form. Rows of 8192 values or more keep 32 rows a block and split K for a wave instead:
/// Llama-3-8B's 14336-long down projection as 128 tiles of two halves, not 256 tiles of 16
/// rows, measured tg128 412.8 -> 429.3 tok/s on an H200 (the 4096-long products, which
/// measured no better split, keep narrowing).
constexpr GemvTiles gemvTiles(int64_t computeUnits) {
  return GemvTiles{/*threads=*/256, /*maxTileN=*/32, /*minBlocks=*/computeUnits,
                   /*residentBlocks=*/2 * computeUnits, /*maxSplitK=*/8,
                   /*splitFirstK=*/8192, /*maxStagedBytes=*/36 * 1024};
}

/// Many tokens on vector ALUs (matmul_gemm): 64x64 output tiles over 32-element K stages (one
/// Q8_0/Q4_0 block, an eighth of a K-quant super-block); each of 256 threads owns a 4x4
/// micro-tile. Shared memory: a 64x32 x tile and one 64x32 weight tile (f32), 8 KiB each.
constexpr GemmTiles kGemmTiles{/*tileM=*/64, /*tileN=*/64, /*tileK=*/32, /*threads=*/256};

/// Many tokens on matrix units (matmul_mma): 64 tokens x 128 weight rows per block over
/// 32-element K stages, 256 threads (8 warps of 32 in 2x4, each 32x32; or 4 wavefronts of 64
/// in 2x2, each 32x64). Shared memory: a stage of a 64x40 and a 128x40 binary16 tile (15 KiB)
/// and one super-stage of raw weight blocks (128 rows; 20 KiB for Q4_K, 30 KiB for Q6_K): two
/// blocks fit an SM/CU. Every weight row is dequantised once per 64 tokens.
constexpr GemmTiles kMatrixGemmTiles{/*tileM=*/64, /*tileN=*/128, /*tileK=*/32, /*threads=*/256};

/// Many tokens on binary16 operands (matmul_mma_f16, after cast_f16 and dequant_f16): 64 tokens
/// x 128 weight rows per block, 256 threads (8 warps of 32 in 2x4; or 4 wavefronts of 64 in
/// 2x2), stages of a 64x40 input and a 128x40 weight tile (binary16) in dynamic shared memory,
/// as many as fit AMD CDNA's 64 KiB of LDS (4). Products whose grid holds a wave of blocks at
/// twice the rows take 128 tokens a block (greta-lower-to-kernels).
constexpr GemmTiles kF16GemmTiles{/*tileM=*/64, /*tileN=*/128, /*tileK=*/32, /*threads=*/256,
                                  /*stageBytes=*/64 * 1024, /*soloStageBytes=*/64 * 1024};

/// The same on Hopper, which gives a block up to 227 KiB once it opts in: 64-value stages (four
/// instruction steps between barriers, not two) in a ring of up to 112 KiB, so two blocks still
/// fit an SM; a product with a block per SM at most (Llama-3-8B's 4096-wide ones at pp512) fills
/// up to 216 KiB, four stages of 128 x 128 tiles (six on wgmma). Measured at pp512 on an H200
/// (session 10, same calls): the 4096- and 14336-deep products 12,112 -> 12,776 tok/s, gate_up
/// too 13,485; four 64-value stages of gate_up's tiles (144 KiB, one block an SM) no gain
/// (12,103); four for the 4096-wide products at 128 rows (one block an SM anyway) 14,342 ->
/// 14,774. On wgmma (session 12) such a block takes six stages (216 KiB): pp512 20,498 / 20,318
/// -> 20,928 / 20,771.
constexpr GemmTiles kHopperF16GemmTiles{/*tileM=*/64, /*tileN=*/128, /*tileK=*/64,
                                        /*threads=*/256, /*stageBytes=*/112 * 1024,
                                        /*soloStageBytes=*/216 * 1024};

/// Flash attention: 32 query rows per block; K and V tiles share 32 KiB (the key count per tile
/// follows from head_dim). Split-KV decode: 256 threads per (KV head, row, split), up to 32
/// splits: at a long context Llama-3-8B's 8 KV heads make 256 blocks, one wave of two blocks
/// an SM over an H100's 132 SMs (101 registers a thread), so its keys are read by the whole
/// GPU rather than by a few SMs; a short context uses fewer (attention_split_kv.hip).
constexpr AttentionTiles kAttentionTiles{/*flashTileM=*/32, /*flashKVBytes=*/32 * 1024,
                                         /*flashMaxKeys=*/64, /*flashThreads=*/256,
                                         /*splitKVThreads=*/256, /*splitKVBlocks=*/32};

/// On matrix units (attention_flash_mma): 64 query rows per block, 128 threads (four 32-wide
/// warps of one 16-row instruction tile each, or two wavefronts of two), key tiles of at most
/// 32 keys (binary16 K hi and lo, Vᵀ, probabilities and f32 scores: 42 KiB at head_dim 128,
/// 29 KiB at 64).
constexpr AttentionTiles kMatrixAttentionTiles{/*flashTileM=*/64, /*flashKVBytes=*/32 * 1024,
                                               /*flashMaxKeys=*/32, /*flashThreads=*/128,
                                               /*splitKVThreads=*/256, /*splitKVBlocks=*/32};

constexpr int64_t kRowThreads = 256;
constexpr int64_t kElementwiseThreads = 256;

// clang-format off
constexpr TargetDesc kTargets[] = {
    // NVIDIA H100 / H200 (Hopper), through HIP-on-CUDA and NVRTC.
    {"sm_90",  Vendor::Nvidia, /*warpSize=*/32, MatrixUnit::TensorCore, {16, 8, 16}, 48 * 1024,
     /*computeUnits=*/132, gemvTiles(132), kMatrixGemmTiles, kHopperF16GemmTiles, kMatrixAttentionTiles, kRowThreads,
     kElementwiseThreads, /*warpgroupMma=*/true},
    // AMD MI300 (CDNA3), ROCm >= 6.
    {"gfx942", Vendor::Amd,    /*warpSize=*/64, MatrixUnit::Mfma,       {16, 16, 16}, 64 * 1024,
     /*computeUnits=*/304, gemvTiles(304), kMatrixGemmTiles, kF16GemmTiles, kMatrixAttentionTiles, kRowThreads,
     kElementwiseThreads},
    // AMD MI200 (CDNA2): one GCD.
    {"gfx90a", Vendor::Amd,    /*warpSize=*/64, MatrixUnit::Mfma,       {16, 16, 16}, 64 * 1024,
     /*computeUnits=*/110, gemvTiles(110), kMatrixGemmTiles, kF16GemmTiles, kMatrixAttentionTiles, kRowThreads,
     kElementwiseThreads},
    // The CPU backend runs the plan itself; kernels are still emitted (for bundles that list
    // GPU targets too) with the portable tiles.
    {"cpu",    Vendor::Cpu,    /*warpSize=*/1,  MatrixUnit::None,       {0, 0, 0},    kPortableSharedMemoryBytes,
     /*computeUnits=*/1,   gemvTiles(132), kGemmTiles, kF16GemmTiles, kAttentionTiles, kRowThreads,
     kElementwiseThreads},
};
// clang-format on

constexpr bool isPortable(const TargetDesc &t) {
  return t.gemv.threads % kBlockGranule == 0 && t.gemm.threads % kBlockGranule == 0 &&
         t.f16Gemm.threads % kBlockGranule == 0 && t.f16Gemm.tileK % 32 == 0 &&
         (t.vendor == Vendor::Nvidia ||
          std::max(t.f16Gemm.stageBytes, t.f16Gemm.soloStageBytes) <=
              kPortableDynamicSharedMemoryBytes) &&
         t.attention.flashThreads % kBlockGranule == 0 &&
         t.attention.splitKVThreads % kBlockGranule == 0 && t.rowThreads % kBlockGranule == 0 &&
         t.elementwiseThreads % kBlockGranule == 0 && t.gemm.tileK % 32 == 0 &&
         t.gemv.maxTileN % (t.gemv.threads / kNarrowestWarp) == 0 &&
         t.gemv.maxStagedBytes < kPortableSharedMemoryBytes &&
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

const TargetDesc *kernelTarget(llvm::ArrayRef<std::string> names, std::string &unknown) {
  const TargetDesc *gpu = nullptr;
  const TargetDesc *cpu = nullptr;
  for (const std::string &name : names) {
    const TargetDesc *target = findTarget(name);
    if (!target) {
      unknown = name;
      return nullptr;
    }
    if (target->vendor == Vendor::Cpu)
      cpu = target;
    else if (!gpu)
      gpu = target;
  }
  return gpu ? gpu : cpu ? cpu : &defaultTarget();
}

} // namespace greta::codegen
