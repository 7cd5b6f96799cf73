#include "runtime/hip/hip_platform.h"

#include "runtime/hip/hip_provider.h"

#include <fmt/format.h>

#include <map>
#include <memory>
#include <mutex>
#include <tuple>

namespace greta::hip {
namespace {

HipProviderLoad loadProvider(Vendor vendor) {
  return vendor == Vendor::Nvidia ? loadHipOnCuda() : loadHipOnAmd();
}

std::string_view platformName(Vendor vendor) {
  return vendor == Vendor::Nvidia ? "HIP-on-CUDA" : "ROCm HIP";
}

/// A copy of `load.api` that lives for the process. A provider's table depends only on the
/// vendor and on which of its parts loaded, so at most four tables per vendor ever exist.
const HipApi *keepTable(Vendor vendor, const HipProviderLoad &load) {
  static std::mutex mutex;
  static std::map<std::tuple<Vendor, bool, bool>, std::unique_ptr<HipApi>> tables;
  std::lock_guard lock(mutex);
  auto &table = tables[{vendor, load.runtimeLoaded, load.compilerLoaded}];
  if (!table)
    table = std::make_unique<HipApi>(load.api);
  return table.get();
}

RtcCompiler describeCompiler(Vendor vendor, const HipProviderLoad &load, const HipApi &api) {
  RtcCompiler compiler;
  compiler.api = &api;
  compiler.vendor = vendor;
  compiler.name = vendor == Vendor::Nvidia ? "NVRTC" : "hipRTC";
  int major = 0, minor = 0;
  GRETA_HIP_CHECK(api, hiprtcVersion(&major, &minor));
  compiler.version = fmt::format("{}.{}", major, minor);
  compiler.library = load.compilerLibrary;
  compiler.systemOptions = load.compilerSystemOptions;
  return compiler;
}

int attribute(const HipApi &api, hipDeviceAttribute_t which, int device) {
  int value = 0;
  GRETA_HIP_CHECK(api, hipDeviceGetAttribute(&value, which, device));
  return value;
}

HipPlatform openOn(Vendor vendor, int device) {
  HipProviderLoad load = loadProvider(vendor);
  if (!load.runtimeLoaded)
    throw Error(load.runtimeError);
  const HipApi &api = *keepTable(vendor, load);

  int count = 0;
  hipError_t status = api.hipInit(0);
  if (status == hipSuccess)
    status = api.hipGetDeviceCount(&count);
  if (status != hipSuccess || count == 0)
    fail("{} loaded, but it finds no GPU ({})", load.runtimeLibrary, describeHipError(api, status));
  if (device < 0 || device >= count)
    fail("GPU {} was asked for, but {} has {} (0 to {})", device, load.runtimeLibrary, count,
         count - 1);
  if (!load.compilerLoaded)
    fail("a GPU is present, but kernels cannot be compiled: {}", load.compilerError);

  HipPlatform platform;
  platform.api = &api;
  platform.vendor = vendor;
  platform.platformName = platformName(vendor);
  platform.runtimeLibrary = load.runtimeLibrary;
  platform.compiler = describeCompiler(vendor, load, api);

  GRETA_HIP_CHECK(api, hipSetDevice(device));
  DeviceInfo &info = platform.device;
  info.ordinal = device;
  info.count = count;
  char text[256] = {};
  GRETA_HIP_CHECK(api, hipDeviceGetName(text, sizeof text, device));
  info.name = text;
  GRETA_HIP_CHECK(api, hipDeviceGetArchName(text, sizeof text, device));
  info.arch = text;
  info.warpSize = attribute(api, hipDeviceAttributeWarpSize, device);
  info.multiprocessors = attribute(api, hipDeviceAttributeMultiprocessorCount, device);
  info.maxThreadsPerBlock = attribute(api, hipDeviceAttributeMaxThreadsPerBlock, device);
  info.sharedMemoryPerBlock = attribute(api, hipDeviceAttributeMaxSharedMemoryPerBlock, device);
  info.sharedMemoryPerBlockOptin =
      attribute(api, hipDeviceAttributeSharedMemPerBlockOptin, device);
  info.l2CacheBytes = attribute(api, hipDeviceAttributeL2CacheSize, device);
  GRETA_HIP_CHECK(api, hipMemGetInfo(&info.freeMemory, &info.totalMemory));
  GRETA_HIP_CHECK(api, hipDriverGetVersion(&info.driverVersion));
  return platform;
}

} // namespace

std::string_view vendorName(Vendor vendor) {
  return vendor == Vendor::Nvidia ? "NVIDIA" : "AMD";
}

std::string RtcCompiler::identity() const {
  return fmt::format("{} {} ({})", name, version, library);
}

std::string HipPlatform::summary() const {
  return fmt::format("{} ({}, {} multiprocessors, warp {}, {}) through {}, driver {}, {} {}",
                     device.name, device.arch, device.multiprocessors, device.warpSize,
                     formatBytes(device.totalMemory), platformName, device.driverVersion,
                     compiler.name, compiler.version);
}

HipPlatform openHipPlatform(PlatformPreference preference, int device) {
  std::vector<Vendor> vendors;
  if (preference != PlatformPreference::Amd)
    vendors.push_back(Vendor::Nvidia);
  if (preference != PlatformPreference::Nvidia)
    vendors.push_back(Vendor::Amd);

  std::vector<std::string> problems;
  for (Vendor vendor : vendors) {
    try {
      return openOn(vendor, device);
    } catch (const Error &error) {
      problems.push_back(fmt::format("{} ({}): {}", vendorName(vendor), platformName(vendor),
                                     error.what()));
    }
  }
  fail("no usable GPU platform:\n  {}", fmt::join(problems, "\n  "));
}

RtcCompiler openHipCompiler(Vendor vendor) {
  HipProviderLoad load = loadProvider(vendor);
  if (!load.compilerLoaded)
    fail("{} kernel compiler unavailable: {}", vendorName(vendor), load.compilerError);
  return describeCompiler(vendor, load, *keepTable(vendor, load));
}

std::string formatBytes(size_t bytes) {
  constexpr double kKiB = 1024.0;
  double value = static_cast<double>(bytes);
  if (value >= kKiB * kKiB * kKiB)
    return fmt::format("{:.2f} GiB", value / (kKiB * kKiB * kKiB));
  if (value >= kKiB * kKiB)
    return fmt::format("{:.1f} MiB", value / (kKiB * kKiB));
  if (value >= kKiB)
    return fmt::format("{:.1f} KiB", value / kKiB);
  return fmt::format("{} bytes", bytes);
}

} // namespace greta::hip
