//===- Pipeline.h - The named stages of greta-compile ------------*- C++ -*-===//
//
// The compiler's stages after import, each a short list of passes with a stable numbered name
// (`03-fuse`). greta-compile runs them in order; `--dump-ir DIR` writes the IR after each stage
// to DIR/NN-<stage>.mlir (and emit-hip's kernels to DIR/06-emit-hip/), and MLIR's pass-manager
// flags (--mlir-print-ir-after-all, --mlir-timing) apply to every stage.
//
//   00-import              GGUF → greta IR (compiler/Import; no passes)
//   01-specialize-phases   greta-specialize-phases
//   02-insert-audit        greta-insert-audit{audit=...}
//   03-fuse                greta-fuse (no passes with --no-fuse; the stage keeps its number)
//   04-select-routes       greta-select-routes{force-route=... fp16-weights=... kv-cache-dtype=...}
//   05-lower-to-kernels    greta-lower-to-kernels{target=... gemv-tiles=... gemm-tiles=...}
//   06-emit-hip            greta-emit-hip{target=... output-dir=...} when kernelDir is set
//
// Thread-safety: runPipeline uses the module's context; one run per context at a time.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/StringRef.h"

#include <functional>
#include <string>
#include <vector>

namespace greta {

/// What the stages are asked to do: greta-compile's flags.
struct PipelineOptions {
  std::string audit = "default";        ///< none | default | all-layers
  bool fuse = true;                     ///< false: 03-fuse runs no passes (--no-fuse)
  std::vector<std::string> forceRoutes; ///< OP=ROUTE or OP.PHASE=ROUTE
  std::vector<std::string> fp16Weights; ///< lm_head | embeddings | all
  std::vector<std::string> targets;     ///< cpu, sm_90, gfx942, ...; empty: the default target
  /// How the KV caches store keys and values: f32, f16, or auto (f16 when the kernels are
  /// lowered for a GPU target, f32 for a bundle for the CPU alone).
  std::string kvCacheDtype = "auto";
  /// "KxN=TILE_N[:SPLIT_K]" each: gemv tiles in place of the tile policy's (greta-lower-to-kernels
  /// gemv-tiles; for tile sweeps).
  std::vector<std::string> gemvTiles;
  /// "KxN=TILE_MxTILE_N" each: gemm tiles in place of the tile policy's (gemm-tiles; for tile
  /// sweeps and kernel tests of tiles a small model's products would not get).
  std::vector<std::string> gemmTiles;
  /// Where greta-emit-hip writes the kernel sources; empty: 06-emit-hip runs no passes (the
  /// bundle writer emits the kernels it packs).
  std::string kernelDir;
};

/// One named stage and the passes it adds to a pass manager on the module.
struct Stage {
  std::string name;        ///< "03-fuse"
  std::string description; ///< the passes with their options, for progress and dump headers
  std::function<void(mlir::OpPassManager &)> addPasses;
};

/// Every stage, import first, in the order they run.
std::vector<Stage> buildStages(const PipelineOptions &options);

/// The stage called `name`: its full name ("03-fuse") or the part after the number ("fuse").
/// Returns -1 when no stage has that name.
int findStage(llvm::ArrayRef<Stage> stages, llvm::StringRef name);

/// "00-import, 01-specialize-phases, ...", for messages.
std::string stageNames(llvm::ArrayRef<Stage> stages);

/// Called after each stage with the stage, its index and the seconds it took; a failure stops
/// the pipeline.
using StageCallback =
    llvm::function_ref<mlir::LogicalResult(const Stage &, size_t index, double seconds)>;

/// Runs stages 1..`last` (stage 0 is the import that made `module`) on `module`, each in its own
/// pass manager configured from MLIR's command-line pass-manager options; `afterStage` is also
/// called for stage 0. Diagnostics go to the context's handler, ending with one that names the
/// stage that failed.
mlir::LogicalResult runPipeline(mlir::ModuleOp module, llvm::ArrayRef<Stage> stages, size_t last,
                                StageCallback afterStage);

/// The IR of `module` after `stage`, headed by a comment naming the stage and its passes: the
/// text of DIR/<stage>.mlir and of the bundle's ir/<stage>.mlir.
std::string renderStage(mlir::ModuleOp module, const Stage &stage);

/// Writes `text` (renderStage's) to DIR/<stage>.mlir, creating DIR. On failure sets `*error` to
/// a message naming the file.
mlir::LogicalResult dumpStage(llvm::StringRef text, const Stage &stage, llvm::StringRef dir,
                              std::string *error);

} // namespace greta
