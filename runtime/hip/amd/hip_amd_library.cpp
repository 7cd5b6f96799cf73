#include "runtime/hip/amd/hip_amd_library.h"

#include <fmt/format.h>

#include <array>
#include <dlfcn.h>

namespace greta::hip_amd {
namespace {

/// Sonames in preference order: ROCm 6/5 runtime sonames, then the unversioned dev symlink.
constexpr std::array kHipLibraryNames = {"libamdhip64.so.6", "libamdhip64.so.5", "libamdhip64.so"};
/// hipRTC moved out of libamdhip64 in ROCm 6.
constexpr std::array kHiprtcLibraryNames = {"libhiprtc.so.6", "libhiprtc.so"};

template <size_t N>
void *openFirst(const std::array<const char *, N> &names, std::vector<std::string> &tried) {
  for (const char *name : names) {
    tried.emplace_back(name);
    if (void *handle = ::dlopen(name, RTLD_NOW | RTLD_LOCAL))
      return handle;
  }
  return nullptr;
}

template <typename Fn> void resolve(void *handle, const char *name, Fn &slot) {
  slot = reinterpret_cast<Fn>(::dlsym(handle, name));
}

} // namespace

HipAmdLibrary loadHipAmdLibrary() {
  HipAmdLibrary library;
  void *hip = openFirst(kHipLibraryNames, library.pathsTried);
  if (!hip) {
    library.error = fmt::format("ROCm HIP runtime not found (tried {})",
                                fmt::join(library.pathsTried, ", "));
    return library;
  }
  // ROCm 5 exports hipRTC from libamdhip64 itself; ROCm 6 has a separate library.
  void *hiprtc = openFirst(kHiprtcLibraryNames, library.pathsTried);
  if (!hiprtc)
    hiprtc = hip;

  std::vector<std::string> missing;
  auto &s = library.symbols;
#define GRETA_HIP_REQUIRED(name)                                                                   \
  resolve(hip, #name, s.name);                                                                     \
  if (!s.name)                                                                                     \
    missing.emplace_back(#name);
#define GRETA_HIP_OPTIONAL(name) resolve(hip, #name, s.name);
#define GRETA_HIPRTC_REQUIRED(name)                                                                \
  resolve(hiprtc, #name, s.name);                                                                  \
  if (!s.name)                                                                                     \
    missing.emplace_back(#name);
#include "runtime/hip/amd/hip_amd_symbols.def"
#undef GRETA_HIP_REQUIRED
#undef GRETA_HIP_OPTIONAL
#undef GRETA_HIPRTC_REQUIRED

  if (!missing.empty()) {
    library.error = fmt::format("ROCm HIP runtime lacks required symbols: {}",
                                fmt::join(missing, ", "));
    return library;
  }
  library.loaded = true;
  return library;
}

} // namespace greta::hip_amd
