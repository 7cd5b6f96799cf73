//===- cuda_library.h - The CUDA driver and NVRTC, opened at run time ---------===//
//
// The tables the HIP-on-CUDA layer calls through (cuda_symbols.def), and their loaders. The
// driver (libcuda.so.1, installed with the GPU driver) and NVRTC (libnvrtc, from the CUDA
// toolkit) load separately: NVRTC compiles kernels on a machine without a GPU.
//
// Search order, each replaced entirely by its override variable (a colon-separated list):
//   driver — GRETA_CUDA_LIBRARY: libcuda.so.1 through the dynamic loader, then the driver's usual
//            folders. Never the toolkit's stubs/libcuda.so, which loads but fails every call.
//   NVRTC  — GRETA_NVRTC_LIBRARY: libnvrtc.so.13, .so.12, .so through the dynamic loader, then
//            the same names in $CUDA_HOME/lib64, $CUDA_PATH/lib64 and /usr/local/cuda/lib64.
//
// Thread-safety: the loaders are thread-safe; the tables are immutable once loaded.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/hip/cuda/cuda_driver_types.h"
#include "runtime/hip/dynamic_library.h"

#include <cstddef>
#include <string>
#include <vector>

namespace greta::cuda {

struct CudaDriverSymbols {
#define GRETA_CUDA_DRIVER_API(name, symbols, params) CUresult(*name) params = nullptr;
#define GRETA_NVRTC_API(ret, name, symbols, params)
#include "runtime/hip/cuda/cuda_symbols.def"
#undef GRETA_CUDA_DRIVER_API
#undef GRETA_NVRTC_API
};

struct NvrtcSymbols {
#define GRETA_CUDA_DRIVER_API(name, symbols, params)
#define GRETA_NVRTC_API(ret, name, symbols, params) ret(*name) params = nullptr;
#include "runtime/hip/cuda/cuda_symbols.def"
#undef GRETA_CUDA_DRIVER_API
#undef GRETA_NVRTC_API
};

/// A table and the library it came from, or why not.
template <typename Symbols> struct LoadedSymbols {
  Symbols symbols;
  bool loaded = false;
  std::string path;  ///< the library's file
  std::string error; ///< empty when loaded: paths tried, or the required symbols missing
};

hip::LibrarySearch cudaDriverSearch();
hip::LibrarySearch nvrtcSearch();

LoadedSymbols<CudaDriverSymbols> loadCudaDriver(const hip::LibrarySearch &search);
LoadedSymbols<NvrtcSymbols> loadNvrtc(const hip::LibrarySearch &search);

/// Folders that may hold CUDA's device headers (cuda_fp16.h), most specific first: beside the
/// loaded NVRTC (`nvrtcFile`), $CUDA_HOME, $CUDA_PATH, /usr/local/cuda.
std::vector<std::string> cudaIncludeCandidates(const std::string &nvrtcFile);

} // namespace greta::cuda
