//===- hip_provider.h - What a platform's provider hands the HIP layer -------===//
//
// A provider opens one platform's libraries and fills a HipApi with adapters over them: AMD
// (ROCm's HIP + hipRTC, amd/) and NVIDIA (CUDA driver API + NVRTC, cuda/). The device runtime
// and the run-time compiler load separately, so kernels can be compiled where no driver is
// installed (ahead-of-time code objects, tests). Entries of a part that did not load are stubs
// that fail cleanly (hipErrorNotInitialized, HIPRTC_ERROR_INTERNAL_ERROR), never null.
//
// Internal to runtime/hip; users open a platform through hip_platform.h.
//
// Thread-safety: the load functions are thread-safe; a library that loaded stays loaded for the
// life of the process and a later call returns the same table. A failed load is retried on
// the next call (so a test can change the override variables between calls).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/hip/hip_api.h"

#include <string>
#include <vector>

namespace greta::hip {

struct HipProviderLoad {
  HipApi api;                   ///< every entry set (adapters, or stubs for a part not loaded)
  bool runtimeLoaded = false;   ///< device runtime (libcuda / libamdhip64)
  bool compilerLoaded = false;  ///< run-time compiler (NVRTC / hipRTC)
  std::string runtimeError;     ///< why the runtime did not load, with the paths tried
  std::string compilerError;    ///< why the compiler did not load, with the paths tried
  std::string runtimeLibrary;   ///< file of the loaded runtime library
  std::string compilerLibrary;  ///< file of the loaded compiler library
  /// Options the platform's compiler always needs (NVIDIA: -I for cuda_fp16.h).
  std::vector<std::string> compilerSystemOptions;
};

/// NVIDIA: the project's HIP-on-CUDA layer (cuda/hip_on_cuda.cpp).
HipProviderLoad loadHipOnCuda();
/// Every HIP-on-CUDA adapter, none called: for tests of the table's completeness.
HipApi hipOnCudaAdapters();

/// AMD: ROCm's HIP and hipRTC (amd/hip_amd_api.cpp; a stub provider when built without ROCm).
HipProviderLoad loadHipOnAmd();
/// Every AMD adapter, none called; all null when built without ROCm's headers.
HipApi hipOnAmdAdapters();
/// Whether this build has the AMD provider (ROCm's headers were found at build time).
bool hipOnAmdBuilt();

/// Sets every runtime (GRETA_HIP_API) and/or compiler (GRETA_HIPRTC_API) entry of `api` to a
/// stub that fails without calling anything.
void setUnavailableEntries(HipApi &api, bool runtime, bool compiler);

} // namespace greta::hip
