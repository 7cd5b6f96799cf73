//===- hip_amd_link_check.cpp - Every AMD symbol GRETA loads exists -----------===//
//
// Linked directly against libamdhip64 (not dlopen), so the build fails if a symbol in
// hip_amd_symbols.def is missing from the installed ROCm or has another signature. Run as a test,
// it also checks that the run-time loader resolves the same table. It needs no GPU.
//
//===----------------------------------------------------------------------===//
#include "runtime/hip/amd/hip_amd_library.h"

#include <cstdio>

int main() {
  int linked = 0;
#define GRETA_HIP_REQUIRED(name) linked += (&::name != nullptr);
#define GRETA_HIP_OPTIONAL(name) linked += (&::name != nullptr);
#define GRETA_HIPRTC_REQUIRED(name) linked += (&::name != nullptr);
#include "runtime/hip/amd/hip_amd_symbols.def"
#undef GRETA_HIP_REQUIRED
#undef GRETA_HIP_OPTIONAL
#undef GRETA_HIPRTC_REQUIRED

  greta::hip_amd::HipAmdLibrary library = greta::hip_amd::loadHipAmdLibrary();
  if (!library.loaded) {
    std::fprintf(stderr, "hip-amd link check: %d symbols linked, but loading failed: %s\n", linked,
                 library.error.c_str());
    return 1;
  }
  std::printf("hip-amd link check: %d symbols linked and resolved at run time\n", linked);
  return 0;
}
