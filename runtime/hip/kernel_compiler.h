//===- kernel_compiler.h - HIP C++ kernels to code objects, cached on disk -----===//
//
// Compiles one HIP C++ kernel source (which includes "greta_prelude.h") with the platform's
// run-time compiler for the exact device target: a CUBIN for "sm_XY" with NVRTC, a code object
// for "gfx…" with hipRTC. The target's warp size is passed as GRETA_WARP_SIZE, never written in
// a kernel. Results are cached on disk (kernel_cache.h) under a key of compiler identity, target,
// options, prelude and source, so a second load of a model compiles nothing.
//
// Options on NVIDIA: --gpu-architecture=sm_XY -default-device -std=c++17 -I<CUDA include>
// (fast math off unless asked; sm_90 compiles as its arch-specific sm_90a, whose wgmma the
// prefill products use); on AMD: --offload-arch=gfx… -std=c++17. Both:
// -DGRETA_TARGET_{NVIDIA,AMD}=1 -DGRETA_WARP_SIZE=N, then the source's own options.
//
// Thread-safety: compile() may be called from several threads at once.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/hip/hip_platform.h"
#include "runtime/hip/kernel_cache.h"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace greta::hip {

/// The exact device a kernel is compiled for.
struct KernelTarget {
  Vendor vendor = Vendor::Nvidia;
  std::string arch; ///< "sm_90", "sm_90a", "gfx942"
  int warpSize = 0; ///< 32 on NVIDIA, 64 (or 32) on AMD

  static KernelTarget of(const HipPlatform &platform);
};

struct KernelSource {
  std::string name;                 ///< kernel name: messages and cache file names
  std::string source;               ///< HIP C++
  std::vector<std::string> options; ///< extra compiler options, e.g. "-DTILE_N=4"
};

struct CompiledKernel {
  std::string name;
  std::vector<uint8_t> code; ///< CUBIN (NVIDIA) or code object (AMD): Module's input
  CacheOutcome cache = CacheOutcome::Disabled;
  /// Corrupt: what was wrong with the old entry; Miss: why it could not be stored, if so.
  std::string cacheProblem;
  std::filesystem::path cachePath;
  std::string log; ///< compiler output (warnings); empty on a cache hit
};

/// A kernel that did not compile: the message names the kernel, compiler, target and options
/// and carries the compiler's whole log.
class KernelCompileError : public Error {
public:
  KernelCompileError(const std::string &message, std::string kernel, std::string log)
      : Error(message), kernel_(std::move(kernel)), log_(std::move(log)) {}
  const std::string &kernel() const { return kernel_; }
  const std::string &log() const { return log_; }

private:
  std::string kernel_;
  std::string log_;
};

struct KernelCompilerOptions {
  /// Where entries live; empty disables the disk cache.
  std::filesystem::path cacheDirectory = defaultKernelCacheDirectory();
  bool fastMath = false; ///< --use_fast_math / -ffast-math
};

class KernelCompiler {
public:
  /// Throws greta::Error if `target` does not suit `compiler` (vendor, arch spelling, warp size).
  KernelCompiler(RtcCompiler compiler, KernelTarget target, KernelCompilerOptions options = {});

  /// Compiles `kernel`, or returns it from the cache. Throws KernelCompileError on a compile
  /// error, greta::hip::HipError if the compiler itself fails.
  CompiledKernel compile(const KernelSource &kernel) const;

  /// What an ahead-of-time code object of `kernel` for this target was compiled from, as
  /// "fnv1a64:…" over the target, the options (but the machine's include paths), the prelude and
  /// the source: recorded in the bundle by greta-compile --target, compared at load, so a code
  /// object is used only while the runtime would compile the very same program. The compiler's
  /// version is not part of it (any build of the target's compiler gives a loadable object).
  std::string codeObjectKey(const KernelSource &kernel) const;

  /// The options every kernel gets, before its own.
  const std::vector<std::string> &baseOptions() const { return baseOptions_; }
  const KernelTarget &target() const { return target_; }

private:
  std::vector<uint8_t> build(const KernelSource &kernel, const std::vector<std::string> &options,
                             std::string &log) const;

  RtcCompiler compiler_;
  KernelTarget target_;
  std::optional<KernelCache> cache_;
  std::vector<std::string> baseOptions_;
  size_t portableOptions_ = 0; ///< the first baseOptions_ (then the machine's system options)
};

} // namespace greta::hip
