//===- greta-compile.cpp - GGUF model → GRETA runtime bundle --------------===//
//
//   greta-compile MODEL.gguf -o MODEL.greta [--target cpu,sm_90,gfx942] [--code-objects=false]
//       [--audit none|default|all-layers] [--force-route OP=ROUTE,...] [--no-fuse]
//       [--gemv-tiles KxN=TILE_N[:SPLIT_K],...] [--gemm-tiles KxN=TILE_MxTILE_N,...]
//       [--fp16-weights lm_head,...] [--weights embed|external] [--dump-ir DIR]
//       [--stop-after-stage STAGE]
//
// Imports the GGUF, runs the named stages of compiler/Pipeline.h and writes the bundle of
// docs/bundle-format.md. MLIR's pass-manager flags (--mlir-print-ir-after-all, --mlir-timing)
// apply to every stage. Errors are one clear message each and exit status 1. Ctrl-C stops after
// the current stage or tensor with status 130 and leaves no bundle (the writer's temporary
// directory is removed; runtime/support/interrupt.h).
//
//===----------------------------------------------------------------------===//

#include "codegen/Targets.h"
#include "compiler/Bundle/BundleWriter.h"
#include "compiler/Import/ImportGguf.h"
#include "compiler/Pipeline.h"
#include "compiler/Transforms/Passes.h"
#include "runtime/support/interrupt.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <map>

namespace cl = llvm::cl;

namespace {

enum class AuditLevel { None, Default, AllLayers };
enum class WeightsMode { Embed, External };

cl::OptionCategory category("greta-compile options");

cl::opt<std::string> inputPath(cl::Positional, cl::Required, cl::desc("<model.gguf>"),
                               cl::cat(category));
cl::opt<std::string> outputPath("o", cl::desc("bundle directory to write (MODEL.greta); with "
                                              "--stop-after-stage, the .mlir file (default: stdout)"),
                                cl::value_desc("path"), cl::cat(category));
cl::list<std::string> targets("target", cl::CommaSeparated,
                              cl::desc("targets to emit kernels for: cpu, sm_XY, gfxNNN "
                                       "(comma-separated); each GPU target also gets "
                                       "ahead-of-time code objects (see --code-objects)"),
                              cl::value_desc("target,..."), cl::cat(category));
cl::opt<bool> codeObjects("code-objects",
                          cl::desc("compile every kernel for each GPU --target with its run-time "
                                   "compiler (NVRTC for sm_XY, hipRTC for gfxNNN) into "
                                   "kernels/<name>.<target>.co (default true; "
                                   "--code-objects=false skips it)"),
                          cl::init(true), cl::cat(category));
cl::opt<AuditLevel> audit(
    "audit", cl::desc("audit points"), cl::init(AuditLevel::Default),
    cl::values(clEnumValN(AuditLevel::None, "none", "no audits"),
               clEnumValN(AuditLevel::Default, "default", "final RMSNorm and LM head"),
               clEnumValN(AuditLevel::AllLayers, "all-layers",
                          "also every layer's output")),
    cl::cat(category));
cl::list<std::string> forceRoutes("force-route", cl::CommaSeparated,
                                  cl::desc("force routes: OP=ROUTE or OP.PHASE=ROUTE with OP "
                                           "matmul|lm_head, ROUTE gemv|gemm, PHASE "
                                           "prefill|decode"),
                                  cl::value_desc("OP=ROUTE,..."), cl::cat(category));
cl::opt<bool> noFuse("no-fuse", cl::desc("skip greta-fuse"), cl::cat(category));
cl::list<std::string> gemvTiles("gemv-tiles", cl::CommaSeparated,
                                cl::desc("tiles of the gemv products over a K x N weight, in "
                                         "place of the tile policy's (for tile sweeps), e.g. "
                                         "14336x4096=32:2"),
                                cl::value_desc("KxN=TILE_N[:SPLIT_K],..."), cl::cat(category));
cl::list<std::string> gemmTiles("gemm-tiles", cl::CommaSeparated,
                                cl::desc("tiles of the gemm products over a K x N weight, in "
                                         "place of the tile policy's (for tile sweeps and "
                                         "kernel tests), e.g. 4096x1024=128x64"),
                                cl::value_desc("KxN=TILE_MxTILE_N,..."), cl::cat(category));
cl::list<std::string> fp16Weights("fp16-weights", cl::CommaSeparated,
                                  cl::desc("dequantize these weights to fp16 for the device: "
                                           "lm_head, embeddings, all"),
                                  cl::value_desc("class,..."), cl::cat(category));
cl::opt<std::string> kvCacheDtype(
    "kv-cache-dtype",
    cl::desc("how the KV caches store keys and values: f32, f16, or auto (f16 unless the only "
             "--target is cpu)"),
    cl::value_desc("auto|f32|f16"), cl::init("auto"), cl::cat(category));
cl::opt<WeightsMode> weights(
    "weights", cl::desc("where the bundle's weights live"), cl::init(WeightsMode::Embed),
    cl::values(clEnumValN(WeightsMode::Embed, "embed", "weights.bin in the bundle"),
               clEnumValN(WeightsMode::External, "external",
                          "point into the source GGUF; repacked at load")),
    cl::cat(category));
cl::opt<std::string> dumpDir("dump-ir",
                             cl::desc("write the IR after every stage to DIR/NN-<stage>.mlir "
                                      "and the kernels to DIR/06-emit-hip/"),
                             cl::value_desc("dir"), cl::cat(category));
cl::opt<std::string> stopAfter("stop-after-stage",
                               cl::desc("stop after this stage (e.g. 03-fuse or fuse) and "
                                        "print its IR instead of writing a bundle"),
                               cl::value_desc("stage"), cl::cat(category));

/// Prints "greta-compile: error: ..." and returns exit status 1.
int fail(const llvm::Twine &message) {
  llvm::errs() << "greta-compile: error: " << message << "\n";
  return 1;
}

llvm::StringRef auditName(AuditLevel level) {
  switch (level) {
  case AuditLevel::None:
    return "none";
  case AuditLevel::Default:
    return "default";
  case AuditLevel::AllLayers:
    return "all-layers";
  }
  llvm_unreachable("unknown audit level");
}

/// Progress lines on a terminal ("[3/7] 03-fuse  0.02 s"); silent otherwise.
class Progress {
public:
  Progress() : enabled_(llvm::sys::Process::StandardErrIsDisplayed()) {}
  void stage(const greta::Stage &stage, size_t index, size_t count, double seconds) {
    if (enabled_)
      llvm::errs() << llvm::formatv("greta-compile: [{0}/{1}] {2,-22} {3:f2} s\n", index + 1,
                                    count, stage.name, seconds);
  }
  void note(const llvm::Twine &message) {
    if (enabled_)
      llvm::errs() << "greta-compile: " << message << "\n";
  }

private:
  bool enabled_;
};

/// Prints MLIR diagnostics as one line each (GGUF locations have no source text to quote).
void printDiagnostic(mlir::Diagnostic &diag) {
  llvm::raw_ostream &os = llvm::errs();
  os << "greta-compile: ";
  switch (diag.getSeverity()) {
  case mlir::DiagnosticSeverity::Error:
    os << "error: ";
    break;
  case mlir::DiagnosticSeverity::Warning:
    os << "warning: ";
    break;
  case mlir::DiagnosticSeverity::Note:
    os << "note: ";
    break;
  case mlir::DiagnosticSeverity::Remark:
    os << "remark: ";
    break;
  }
  os << diag.str() << "\n";
  for (mlir::Diagnostic &note : diag.getNotes())
    os << "greta-compile: note: " << note.str() << "\n";
}

int run() {
  std::vector<std::string> targetList(targets.begin(), targets.end());
  for (const std::string &target : targetList)
    if (!greta::codegen::findTarget(target))
      return fail("--target: unknown target '" + target + "' (known: " +
                  greta::codegen::targetNames() + ")");
  greta::PipelineOptions options;
  options.audit = auditName(audit).str();
  options.fuse = !noFuse;
  options.forceRoutes.assign(forceRoutes.begin(), forceRoutes.end());
  options.gemvTiles.assign(gemvTiles.begin(), gemvTiles.end());
  options.gemmTiles.assign(gemmTiles.begin(), gemmTiles.end());
  options.fp16Weights.assign(fp16Weights.begin(), fp16Weights.end());
  options.targets = targetList;
  if (kvCacheDtype != "auto" && kvCacheDtype != "f32" && kvCacheDtype != "f16")
    return fail("--kv-cache-dtype: '" + kvCacheDtype + "' is not one of auto, f32, f16");
  options.kvCacheDtype = kvCacheDtype;
  if (!dumpDir.empty()) {
    llvm::SmallString<256> kernels(dumpDir.getValue());
    llvm::sys::path::append(kernels, "06-emit-hip");
    options.kernelDir = kernels.str().str();
  }
  std::vector<greta::Stage> stages = greta::buildStages(options);
  size_t last = stages.size() - 1;
  if (!stopAfter.empty()) {
    int index = greta::findStage(stages, stopAfter);
    if (index < 0)
      return fail("--stop-after-stage: no stage '" + stopAfter + "' (stages: " +
                  greta::stageNames(stages) + ")");
    last = static_cast<size_t>(index);
  } else if (outputPath.empty()) {
    return fail("no output bundle: give -o MODEL.greta (or --stop-after-stage STAGE to print "
                "IR)");
  }

  mlir::MLIRContext context;
  context.printOpOnDiagnostic(false);
  mlir::ScopedDiagnosticHandler diagnostics(&context, [](mlir::Diagnostic &diag) {
    printDiagnostic(diag);
    return mlir::success();
  });

  Progress progress;
  auto start = std::chrono::steady_clock::now();
  std::string error;
  mlir::OwningOpRef<mlir::ModuleOp> module = greta::importGguf(inputPath, &context, &error);
  if (!module)
    return fail(error);
  double importSeconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  // With --dump-ir every stage's IR goes to DIR and into the bundle's ir/ (emit-hip leaves the
  // IR unchanged; its output is the kernels in DIR/06-emit-hip/).
  std::map<std::string, std::string> irFiles;
  auto afterStage = [&](const greta::Stage &stage, size_t index,
                        double seconds) -> mlir::LogicalResult {
    progress.stage(stage, index, stages.size(), index == 0 ? importSeconds : seconds);
    if (greta::interruptRequested())
      return mlir::failure(); // main() reports it
    if (dumpDir.empty() || llvm::StringRef(stage.name).ends_with("emit-hip"))
      return mlir::success();
    std::string text = greta::renderStage(*module, stage);
    if (mlir::failed(greta::dumpStage(text, stage, dumpDir, &error)))
      return mlir::failure();
    irFiles[stage.name + ".mlir"] = std::move(text);
    return mlir::success();
  };
  if (mlir::failed(greta::runPipeline(*module, stages, last, afterStage)))
    return error.empty() ? 1 : fail(error); // the diagnostics said what failed

  if (!stopAfter.empty()) {
    std::string path = outputPath.empty() ? "-" : outputPath.getValue();
    auto file = mlir::openOutputFile(path, &error);
    if (!file)
      return fail(error);
    (*module)->print(file->os());
    file->os() << "\n";
    file->keep();
    return 0;
  }

  greta::BundleOptions bundle;
  bundle.outputDir = outputPath;
  bundle.sourceGguf = inputPath;
  bundle.weights = weights == WeightsMode::Embed ? greta::bundle::WeightMode::Embed
                                                 : greta::bundle::WeightMode::External;
  bundle.audit = options.audit;
  bundle.fuse = options.fuse;
  bundle.forcedRoutes = options.forceRoutes;
  bundle.fp16Weights = options.fp16Weights;
  bundle.kvCacheDtype = options.kvCacheDtype;
  bundle.targets = options.targets;
  if (codeObjects)
    for (const std::string &target : options.targets)
      if (greta::codegen::findTarget(target)->vendor != greta::codegen::Vendor::Cpu)
        bundle.codeObjectTargets.push_back(target);
  bundle.irFiles = std::move(irFiles);
  progress.note("writing " + outputPath);
  auto writeStart = std::chrono::steady_clock::now();
  if (mlir::failed(greta::writeBundleFromModule(*module, bundle)))
    return 1; // the diagnostics said what failed
  auto end = std::chrono::steady_clock::now();
  progress.note(llvm::formatv("wrote {0} in {1:f2} s ({2:f2} s in all)", outputPath,
                              std::chrono::duration<double>(end - writeStart).count(),
                              std::chrono::duration<double>(end - start).count()));
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  mlir::registerPassManagerCLOptions();
  mlir::registerMLIRContextCLOptions();
  mlir::registerAsmPrinterCLOptions();
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "greta-compile: compiles a Llama GGUF into a GRETA bundle\n\n"
      "Stages: 00-import, 01-specialize-phases, 02-insert-audit, 03-fuse, 04-select-routes,\n"
      "05-lower-to-kernels, 06-emit-hip. MLIR's pass-manager flags (--mlir-print-ir-after-all,\n"
      "--mlir-timing, ...; see --help-hidden) apply to every stage.\n");
  // After InitLLVM, whose handlers would end the process at once and leave the bundle's
  // temporary directory behind.
  greta::installInterruptHandler();
  const int status = run();
  if (status != 0 && greta::interruptRequested()) {
    llvm::errs() << "greta-compile: interrupted (Ctrl-C); no bundle written\n";
    return greta::kInterruptedExitStatus;
  }
  return status;
}
