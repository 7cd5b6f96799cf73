//===- hip_platform.h - Pick the GPU platform at run time ----------------------===//
//
// One GRETA binary serves AMD and NVIDIA GPUs: openHipPlatform() opens the platform's libraries
// (ROCm's HIP + hipRTC, or the CUDA driver + NVRTC under the project's HIP-on-CUDA layer), picks
// a device and describes it — vendor, name, code-object target ("sm_90", "gfx942"), warp size,
// multiprocessors, memory — with the HipApi table to call it through. openHipCompiler() opens
// only the run-time compiler, which needs no GPU (tests, ahead-of-time code objects).
//
// Failures are greta::Error messages that say what was tried: every library path, and why each
// platform was not usable ("no GPU", "no NVRTC", ...).
//
// Thread-safety: both functions are thread-safe. Returned tables live for the whole process.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/hip/hip_api.h"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace greta::hip {

enum class Vendor { Amd, Nvidia };
/// "AMD" or "NVIDIA".
std::string_view vendorName(Vendor vendor);

enum class PlatformPreference { Auto, Amd, Nvidia };

/// A platform's run-time compiler: hipRTC on AMD, NVRTC on NVIDIA, behind HipApi's hiprtc*.
struct RtcCompiler {
  const HipApi *api = nullptr;
  Vendor vendor = Vendor::Nvidia;
  std::string name;    ///< "NVRTC" or "hipRTC"
  std::string version; ///< "13.0"
  std::string library; ///< the file it was loaded from
  /// Options every compile needs on this machine (NVIDIA: -I<CUDA include folder>).
  std::vector<std::string> systemOptions;

  /// Name, version and library file: part of every kernel cache key, so code compiled by one
  /// compiler build is never served for another.
  std::string identity() const;
};

struct DeviceInfo {
  int ordinal = 0;
  int count = 0;        ///< devices of this platform on the machine
  std::string name;     ///< "NVIDIA H100 80GB HBM3"
  std::string arch;     ///< exact code-object target: "sm_90", "gfx942"
  int warpSize = 0;     ///< 32 on NVIDIA, 64 on CDNA
  int multiprocessors = 0;
  int maxThreadsPerBlock = 0;
  int sharedMemoryPerBlock = 0;      ///< bytes, without opt-in
  int sharedMemoryPerBlockOptin = 0; ///< bytes, with opt-in (NVIDIA); equal on AMD
  int l2CacheBytes = 0;
  size_t totalMemory = 0;
  size_t freeMemory = 0; ///< when opened
  int driverVersion = 0;
};

struct HipPlatform {
  const HipApi *api = nullptr; ///< lives for the whole process
  Vendor vendor = Vendor::Nvidia;
  std::string platformName;    ///< "HIP-on-CUDA" or "ROCm HIP"
  std::string runtimeLibrary;  ///< libcuda / libamdhip64 file
  DeviceInfo device;
  RtcCompiler compiler;

  /// One line: "NVIDIA H100 80GB HBM3 (sm_90, 132 multiprocessors, warp 32, 79.1 GiB) through
  /// HIP-on-CUDA, driver 13000, NVRTC 13.0".
  std::string summary() const;
};

/// Opens the platform (Auto: NVIDIA, then AMD) and makes `device` current on this thread.
/// Throws greta::Error naming every platform tried and why it was not usable, with the library
/// paths tried. Override variables: GRETA_CUDA_LIBRARY, GRETA_NVRTC_LIBRARY, GRETA_HIP_LIBRARY,
/// GRETA_HIPRTC_LIBRARY (colon-separated paths replacing each default search).
HipPlatform openHipPlatform(PlatformPreference preference = PlatformPreference::Auto,
                            int device = 0);

/// Opens only `vendor`'s run-time compiler; works without a GPU or driver. Throws greta::Error
/// with the paths tried.
RtcCompiler openHipCompiler(Vendor vendor);

/// "1.50 GiB", "512.0 MiB", "4.0 KiB", "17 bytes".
std::string formatBytes(size_t bytes);

} // namespace greta::hip
