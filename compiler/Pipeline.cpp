//===- Pipeline.cpp - The named stages of greta-compile -------------------===//

#include "compiler/Pipeline.h"

#include "codegen/Targets.h"
#include "compiler/Transforms/Passes.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>

namespace gir = mlir::greta;

namespace greta {

/// "a,b" for a list option's value in a description.
static std::string joinList(const std::vector<std::string> &values) {
  return llvm::join(values, ",");
}

std::vector<Stage> buildStages(const PipelineOptions &options) {
  std::vector<Stage> stages;
  stages.push_back({"00-import", "GGUF -> greta IR", [](mlir::OpPassManager &) {}});
  stages.push_back({"01-specialize-phases", "greta-specialize-phases",
                    [](mlir::OpPassManager &pm) { pm.addPass(gir::createSpecializePhases()); }});

  gir::InsertAuditOptions audit;
  audit.audit = options.audit;
  stages.push_back({"02-insert-audit", "greta-insert-audit{audit=" + options.audit + "}",
                    [audit](mlir::OpPassManager &pm) {
                      pm.addPass(gir::createInsertAudit(audit));
                    }});

  if (options.fuse)
    stages.push_back({"03-fuse", "greta-fuse",
                      [](mlir::OpPassManager &pm) { pm.addPass(gir::createFuse()); }});
  else
    stages.push_back({"03-fuse", "none (--no-fuse)", [](mlir::OpPassManager &) {}});

  // Kernels are shaped for the target they are emitted for (the bundle writer's rule): a CPU-only
  // bundle gets portable kernels, without the matrix-unit forms.
  std::string unknown;
  const greta::codegen::TargetDesc *target =
      greta::codegen::kernelTarget(options.targets, unknown);

  gir::SelectRoutesOptions routes;
  routes.forceRoutes = options.forceRoutes;
  routes.fp16Weights = options.fp16Weights;
  routes.kvCacheDtype = options.kvCacheDtype;
  // auto: binary16 keys and values on a GPU (what decode attention reads every step, and what
  // the matrix units take), f32 on the CPU (no bandwidth to save, exact reference arithmetic).
  if (options.kvCacheDtype == "auto")
    routes.kvCacheDtype =
        target && target->vendor == greta::codegen::Vendor::Cpu ? "f32" : "f16";
  stages.push_back({"04-select-routes",
                    "greta-select-routes{force-route=" + joinList(options.forceRoutes) +
                        " fp16-weights=" + joinList(options.fp16Weights) +
                        " kv-cache-dtype=" + routes.kvCacheDtype + "}",
                    [routes](mlir::OpPassManager &pm) {
                      pm.addPass(gir::createSelectRoutes(routes));
                    }});
  gir::LowerToKernelsOptions lower;
  lower.target = target ? target->name.str() : unknown; // the pass reports an unknown name
  lower.gemvTiles = options.gemvTiles;
  lower.gemmTiles = options.gemmTiles;
  std::string lowerName = "greta-lower-to-kernels{target=";
  lowerName += lower.target;
  for (const auto &[name, entries] : {std::pair{" gemv-tiles=", &options.gemvTiles},
                                      std::pair{" gemm-tiles=", &options.gemmTiles}}) {
    if (!entries->empty()) {
      lowerName += name;
      lowerName += joinList(*entries);
    }
  }
  lowerName += "}";
  stages.push_back({"05-lower-to-kernels", lowerName,
                    [lower](mlir::OpPassManager &pm) {
                      pm.addPass(gir::createLowerToKernels(lower));
                    }});

  // The bundle writer emits the kernels it packs itself; the pass runs when they are also
  // asked for as files (--dump-ir), since without an output directory it prints them.
  if (options.kernelDir.empty()) {
    stages.push_back({"06-emit-hip", "none (the bundle writer emits the kernels)",
                      [](mlir::OpPassManager &) {}});
  } else {
    gir::EmitHipOptions emit;
    emit.targets = options.targets;
    emit.outputDir = options.kernelDir;
    stages.push_back({"06-emit-hip",
                      "greta-emit-hip{target=" + joinList(options.targets) +
                          " output-dir=" + options.kernelDir + "}",
                      [emit](mlir::OpPassManager &pm) { pm.addPass(gir::createEmitHip(emit)); }});
  }
  return stages;
}

int findStage(llvm::ArrayRef<Stage> stages, llvm::StringRef name) {
  for (auto [index, stage] : llvm::enumerate(stages)) {
    llvm::StringRef full = stage.name;
    if (name == full || name == full.split('-').second)
      return static_cast<int>(index);
  }
  return -1;
}

std::string stageNames(llvm::ArrayRef<Stage> stages) {
  return llvm::join(llvm::map_range(stages, [](const Stage &s) { return s.name; }), ", ");
}

mlir::LogicalResult runPipeline(mlir::ModuleOp module, llvm::ArrayRef<Stage> stages, size_t last,
                                StageCallback afterStage) {
  if (stages.empty() || mlir::failed(afterStage(stages.front(), 0, 0.0)))
    return mlir::failure();
  for (size_t index = 1; index <= last && index < stages.size(); ++index) {
    const Stage &stage = stages[index];
    mlir::PassManager pm(module.getContext());
    if (mlir::failed(mlir::applyPassManagerCLOptions(pm)))
      return mlir::failure();
    stage.addPasses(pm);
    auto start = std::chrono::steady_clock::now();
    if (mlir::failed(pm.run(module)))
      return mlir::emitError(module.getLoc()) << "stage " << stage.name << " failed";
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (mlir::failed(afterStage(stage, index, seconds)))
      return mlir::failure();
  }
  return mlir::success();
}

std::string renderStage(mlir::ModuleOp module, const Stage &stage) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "// GRETA stage " << stage.name << ": " << stage.description << "\n";
  module->print(os);
  os << "\n";
  return text;
}

mlir::LogicalResult dumpStage(llvm::StringRef text, const Stage &stage, llvm::StringRef dir,
                              std::string *error) {
  if (std::error_code ec = llvm::sys::fs::create_directories(dir)) {
    *error = (dir + ": cannot create the IR dump directory: " + ec.message()).str();
    return mlir::failure();
  }
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, stage.name + ".mlir");
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec, llvm::sys::fs::OF_Text);
  if (ec) {
    *error = (path + ": cannot write: " + ec.message()).str();
    return mlir::failure();
  }
  os << text;
  os.close();
  if (os.has_error()) {
    *error = (path + ": write failed: " + os.error().message()).str();
    os.clear_error();
    return mlir::failure();
  }
  return mlir::success();
}

} // namespace greta
