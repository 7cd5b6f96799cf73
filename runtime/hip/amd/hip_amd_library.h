//===- hip_amd_library.h - ROCm's HIP runtime and hipRTC, opened at run time ===//
//
// The AMD path of the HIP backend calls ROCm through this table, never through link-time
// symbols, so GRETA's binaries start on machines with no ROCm installed. Types and signatures are
// ROCm's own (the header is compiled with __HIP_PLATFORM_AMD__); only translation units of the
// AMD path include it.
//
// Thread-safety: load() is not; a loaded table is immutable and may be used from any thread.
//
//===----------------------------------------------------------------------===//
#pragma once

#ifndef __HIP_PLATFORM_AMD__
#define __HIP_PLATFORM_AMD__
#endif
// The C++ template overloads (hipMalloc<T>) would make decltype(&::hipMalloc) ambiguous.
#define __HIP_DISABLE_CPP_FUNCTIONS__
#include <hip/hip_runtime_api.h>
#include <hip/hiprtc.h>

#include <string>
#include <vector>

namespace greta::hip_amd {

struct HipAmdSymbols {
#define GRETA_HIP_REQUIRED(name) decltype(&::name) name = nullptr;
#define GRETA_HIP_OPTIONAL(name) decltype(&::name) name = nullptr;
#define GRETA_HIPRTC_REQUIRED(name) decltype(&::name) name = nullptr;
#include "runtime/hip/amd/hip_amd_symbols.def"
#undef GRETA_HIP_REQUIRED
#undef GRETA_HIP_OPTIONAL
#undef GRETA_HIPRTC_REQUIRED
};

/// Outcome of opening ROCm: the table, or why not (paths tried, missing symbols).
struct HipAmdLibrary {
  HipAmdSymbols symbols;
  bool loaded = false;
  std::string error;                  ///< empty when loaded
  std::vector<std::string> pathsTried;
  std::string runtimePath;            ///< file that libamdhip64's symbols came from
  std::string compilerPath;           ///< file that hipRTC's symbols came from
};

/// Opens libamdhip64 (and libhiprtc where separate) and resolves every symbol of the table.
/// Never throws: a missing library or required symbol is reported in `error`, listing the
/// paths tried. The libraries stay open for the life of the process. GRETA_HIP_LIBRARY and
/// GRETA_HIPRTC_LIBRARY (colon-separated paths) replace the default search.
HipAmdLibrary loadHipAmdLibrary();

} // namespace greta::hip_amd
