//===- code_objects.h - Ahead-of-time code objects for a bundle -------------===//
//
// greta-compile --target sm_90[,gfx942...] compiles every kernel of the bundle it writes for each
// GPU target named, with that target's run-time compiler (NVRTC for sm_XY, hipRTC for gfxNNN;
// no GPU needed), through the same KernelCompiler the runtime uses at load. Each result becomes
// kernels/<name>.<target>.co in the bundle and a manifest.kernels[].code_objects entry with its
// size, checksum and key (KernelCompiler::codeObjectKey). The HIP executor loads a code object
// instead of compiling only on a device of exactly that target and while the key matches what it
// would compile (docs/bundle-format.md).
//
// For the compiler, which builds without exceptions: the entry point never throws.
//
// Thread-safety: independent calls may run concurrently; each compiles on its own threads.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/bundle/bundle_writer.h"

#include <string>
#include <vector>

namespace greta::hip {

/// A GPU target to compile for: its name ("sm_90", "gfx942") and warp size (32 or 64).
struct CodeObjectTarget {
  std::string arch;
  int warpSize = 0;
};

/// Compiles every kernel of `spec.kernelSources` for each target, adding the files to
/// `spec.codeObjectFiles` and the entries to the kernels' `codeObjects`. Returns false with
/// *error set (naming the target, and the compiler library paths tried or the kernel and the
/// compiler's log) when a target's compiler is missing or a kernel does not compile; `spec` is
/// then unchanged. Never throws.
bool tryAddCodeObjects(bundle::BundleSpec &spec, const std::vector<CodeObjectTarget> &targets,
                       std::string *error) noexcept;

} // namespace greta::hip
