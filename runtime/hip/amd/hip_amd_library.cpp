#include "runtime/hip/amd/hip_amd_library.h"
#include "runtime/hip/dynamic_library.h"

#include <fmt/format.h>

#include <dlfcn.h>

namespace greta::hip_amd {
namespace {

template <typename Fn> void resolve(void *handle, const char *name, Fn &slot) {
  slot = reinterpret_cast<Fn>(::dlsym(handle, name));
}

} // namespace

HipAmdLibrary loadHipAmdLibrary() {
  HipAmdLibrary library;
  // ROCm 6/5 runtime sonames, the unversioned dev symlink, then ROCm's own folder.
  hip::OpenedLibrary hip = hip::openLibrary(
      {"ROCm HIP runtime (libamdhip64)",
       "GRETA_HIP_LIBRARY",
       {"libamdhip64.so.6", "libamdhip64.so.5", "libamdhip64.so", "/opt/rocm/lib/libamdhip64.so"}});
  library.pathsTried = hip.tried;
  if (!hip.handle) {
    library.error = hip.error;
    return library;
  }
  // hipRTC moved out of libamdhip64 in ROCm 6; ROCm 5 exports it from libamdhip64 itself.
  hip::OpenedLibrary rtc = hip::openLibrary(
      {"hipRTC (libhiprtc)", "GRETA_HIPRTC_LIBRARY", {"libhiprtc.so.6", "libhiprtc.so"}});
  library.pathsTried.insert(library.pathsTried.end(), rtc.tried.begin(), rtc.tried.end());
  void *hiprtc = rtc.handle ? rtc.handle : hip.handle;

  std::vector<std::string> missing;
  auto &s = library.symbols;
#define GRETA_HIP_REQUIRED(name)                                                                   \
  resolve(hip.handle, #name, s.name);                                                              \
  if (!s.name)                                                                                     \
    missing.emplace_back(#name);
#define GRETA_HIP_OPTIONAL(name) resolve(hip.handle, #name, s.name);
#define GRETA_HIPRTC_REQUIRED(name)                                                                \
  resolve(hiprtc, #name, s.name);                                                                  \
  if (!s.name)                                                                                     \
    missing.emplace_back(#name);
#include "runtime/hip/amd/hip_amd_symbols.def"
#undef GRETA_HIP_REQUIRED
#undef GRETA_HIP_OPTIONAL
#undef GRETA_HIPRTC_REQUIRED

  library.runtimePath = hip::libraryFileOf(reinterpret_cast<const void *>(s.hipInit));
  library.compilerPath = hip::libraryFileOf(reinterpret_cast<const void *>(s.hiprtcVersion));
  if (!missing.empty()) {
    library.error = fmt::format("ROCm HIP runtime at {} lacks required symbols: {}",
                                library.runtimePath.empty() ? hip.path : library.runtimePath,
                                fmt::join(missing, ", "));
    return library;
  }
  library.loaded = true;
  return library;
}

} // namespace greta::hip_amd
