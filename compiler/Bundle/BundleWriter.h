//===- BundleWriter.h - A lowered gk module as a runtime bundle -*- C++ -*-===//
//
// The compiler's last step: turns the module that greta-lower-to-kernels produced (gk.buffer,
// gk.kernel, gk.plan @prefill / @decode, with the greta.weight symbols and #greta.model) into
// the runtime's BundleSpec (runtime/bundle/bundle_writer.h) and hands it to the runtime's
// non-throwing writer, which adds the weights, the tokenizer and the source identity from the
// GGUF and writes NAME.greta/ atomically (docs/bundle-format.md).
//
//   manifest.model    ← #greta.model (rope_freqs: the weight named "rope_freqs.weight")
//   weights.tensors   ← every greta.weight: its GGUF name, layout f16_rows under the fp16
//                       policy, else ggml (embed copies the GGUF bytes; external points at them)
//   buffers           ← every gk.buffer but weights (which launches name as "@<gguf name>")
//   kernels           ← every gk.kernel, emitted to kernels/<name>.hip (codegen/KernelEmitter.h);
//                       params: the gk params, quant, prologue/epilogue, tiles, block and
//                       param_fields (the Params struct layout, codegen/KernelABI.h)
//   phases            ← gk.plan @prefill / @decode: launches with args by family argument
//                       name and grids decomposed to {mul, add, div}; each gk.audit_launch also
//                       adds an audit point naming the launch that wrote its buffer
//   ir/final.mlir     ← the module as given
//
// Thread-safety: one call per module at a time.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/bundle/bundle_writer.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LogicalResult.h"

#include <map>
#include <string>
#include <vector>

namespace greta {

struct BundleOptions {
  /// The bundle directory (NAME.greta); written atomically.
  std::string outputDir;
  /// The GGUF the module was imported from.
  std::string sourceGguf;
  bundle::WeightMode weights = bundle::WeightMode::Embed;
  // Recorded in manifest.options (informational for the runtime).
  std::string audit = "default";
  bool fuse = true;
  std::vector<std::string> forcedRoutes; ///< "OP=ROUTE" / "OP.PHASE=ROUTE"
  std::vector<std::string> fp16Weights;  ///< weight classes, as given to greta-select-routes
  std::string kvCacheDtype = "auto";     ///< --kv-cache-dtype, as given
  /// Targets the bundle is for (cpu, sm_90, gfx942, ...); empty means {"cpu", the default GPU
  /// target}. The first GPU target is named in the kernels' banners.
  std::vector<std::string> targets;
  /// GPU targets (sm_90, gfx942, ...) to compile every kernel for ahead of time
  /// (runtime/hip/code_objects.h): kernels/<name>.<target>.co, recorded in the manifest.
  std::vector<std::string> codeObjectTargets;
  /// Extra files under ir/ ("03-fuse.mlir" → text); ir/final.mlir is always written.
  std::map<std::string, std::string> irFiles;
  std::string generator = "greta-compile 0.1.0";
  /// Threads for repacking and checksumming weights (0: hardware threads).
  unsigned threads = 0;
};

/// The BundleSpec of `module` (every kernel emitted), without touching the GGUF or the disk:
/// what writeBundleFromModule writes, and what tests inspect for models too large to write.
/// Problems are reported on the module's ops.
mlir::FailureOr<bundle::BundleSpec> buildBundleSpec(mlir::ModuleOp module,
                                                    const BundleOptions &options);

/// Builds the spec and writes the bundle to options.outputDir. A writer error (a missing
/// tensor, a full disk, a manifest the runtime would refuse) is reported on the module with
/// the writer's message.
mlir::LogicalResult writeBundleFromModule(mlir::ModuleOp module, const BundleOptions &options);

} // namespace greta
