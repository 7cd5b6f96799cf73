//===- EmitHip.cpp - One HIP C++ source per gk.kernel -----------------------===//
//
// The pass is the command-line face of codegen/KernelEmitter.h: it emits every gk.kernel and
// writes the sources to a directory, or prints them (for lit and for reading). greta-compile
// calls the emitter directly when it writes a bundle.
//
//===----------------------------------------------------------------------===//

#include "compiler/Transforms/Passes.h"

#include "codegen/KernelEmitter.h"
#include "codegen/Targets.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#define DEBUG_TYPE "greta-emit-hip"

namespace mlir::greta {
#define GEN_PASS_DEF_EMITHIP
#include "compiler/Transforms/Passes.h.inc"
} // namespace mlir::greta

using namespace mlir;
namespace cg = ::greta::codegen;

namespace {

/// The target the kernels are emitted for (banners, matrix-unit or vector-ALU gemm): the first
/// GPU target listed; the CPU's row when only `cpu` is; the default when none is.
FailureOr<const cg::TargetDesc *> bannerTarget(ArrayRef<std::string> names, Location loc) {
  std::string unknown;
  if (const cg::TargetDesc *target = cg::kernelTarget(names, unknown))
    return target;
  return emitError(loc) << "greta-emit-hip: unknown target '" << unknown
                        << "' (known: " << cg::targetNames() << ")",
         failure();
}

/// Writes `text` to `dir`/`fileName`.
LogicalResult writeSource(StringRef dir, StringRef fileName, StringRef text, Location loc) {
  SmallString<256> path(dir);
  llvm::sys::path::append(path, fileName);
  std::error_code error;
  llvm::raw_fd_ostream out(path, error, llvm::sys::fs::OF_Text);
  if (!error) {
    out << text;
    out.close();
    error = out.error();
  }
  if (error)
    return emitError(loc) << "greta-emit-hip: cannot write " << path << ": " << error.message(),
           failure();
  return success();
}

struct EmitHipPass final : mlir::greta::impl::EmitHipBase<EmitHipPass> {
  using EmitHipBase::EmitHipBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    FailureOr<const cg::TargetDesc *> target = bannerTarget(targets, module.getLoc());
    if (failed(target))
      return signalPassFailure();
    if (!outputDir.empty()) {
      if (std::error_code error = llvm::sys::fs::create_directories(outputDir)) {
        module.emitError() << "greta-emit-hip: cannot create " << outputDir << ": "
                           << error.message();
        return signalPassFailure();
      }
    }
    for (auto kernel : module.getOps<gk::KernelOp>()) {
      FailureOr<cg::EmittedKernel> emitted = cg::emitKernel(kernel, **target);
      if (failed(emitted))
        return signalPassFailure();
      if (outputDir.empty()) {
        llvm::outs() << "// ===== gk.kernel @" << emitted->name << " (" << emitted->fileName
                     << ") =====\n"
                     << emitted->source;
        continue;
      }
      if (failed(writeSource(outputDir, emitted->fileName, emitted->source, kernel.getLoc())))
        return signalPassFailure();
    }
    markAllAnalysesPreserved();
  }
};

} // namespace
