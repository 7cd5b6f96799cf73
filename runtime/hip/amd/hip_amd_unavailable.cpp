//===- hip_amd_unavailable.cpp - The AMD provider of a build without ROCm ------===//
//
// Compiled instead of hip_amd_api.cpp when ROCm's HIP headers were not found at configure time
// (the AMD adapters take their signatures from them). Opening AMD then fails with a message
// that says why, and NVIDIA is unaffected.
//
//===----------------------------------------------------------------------===//
#include "runtime/hip/hip_provider.h"

namespace greta::hip {

bool hipOnAmdBuilt() { return false; }

HipApi hipOnAmdAdapters() { return {}; }

HipProviderLoad loadHipOnAmd() {
  HipProviderLoad load;
  load.runtimeError = load.compilerError =
      "this build has no AMD support: ROCm's HIP headers (hip/hip_runtime_api.h) were not found "
      "when it was configured";
  setUnavailableEntries(load.api, /*runtime=*/true, /*compiler=*/true);
  return load;
}

} // namespace greta::hip
