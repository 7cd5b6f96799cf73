// Tests of library search, platform opening and device selection that need no GPU: a missing
// driver is simulated with the override variables, the opener of selectDevice with fakes.

#include "runtime/hip/cuda/cuda_library.h"
#include "runtime/hip/device_selection.h"
#include "runtime/hip/hip_platform.h"
#include "runtime/hip/hip_provider.h"
#include "test/unit/hip/hip_test_support.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace greta::hip {
namespace {

using test::ScopedEnvironment;

// Tests that a missing library is reported with every path tried, in order.
TEST(LibrarySearch, MissingLibraryListsEveryPathTried) {
  cuda::LoadedSymbols<cuda::CudaDriverSymbols> driver = cuda::loadCudaDriver(
      {"CUDA driver library", "", {"/nonexistent/a/libcuda.so.1", "/nonexistent/b/libcuda.so.1"}});
  EXPECT_FALSE(driver.loaded);
  EXPECT_CONTAINS(driver.error, "CUDA driver library not found (tried /nonexistent/a/libcuda.so.1, "
                                "/nonexistent/b/libcuda.so.1)");
}

// Tests that the override variable replaces the default search and is named in the message.
TEST(LibrarySearch, OverrideVariableReplacesDefaults) {
  ScopedEnvironment cuda("GRETA_CUDA_LIBRARY", "/nonexistent/libcuda.so.1:/also/missing.so");
  cuda::LoadedSymbols<cuda::CudaDriverSymbols> driver =
      cuda::loadCudaDriver(cuda::cudaDriverSearch());
  EXPECT_FALSE(driver.loaded);
  EXPECT_CONTAINS(driver.error, "tried /nonexistent/libcuda.so.1, /also/missing.so, from "
                                "GRETA_CUDA_LIBRARY");
  EXPECT_EQ(driver.error.find("tried libcuda.so.1"), std::string::npos);
}

// Tests that a file that exists but is not a library is reported with the loader's reason.
TEST(LibrarySearch, UnloadableFileGivesLoaderReason) {
  test::TemporaryDirectory directory;
  std::string path = (directory.path() / "libcuda.so.1").string();
  FILE *file = std::fopen(path.c_str(), "w");
  ASSERT_NE(file, nullptr);
  std::fputs("not an ELF file", file);
  std::fclose(file);
  cuda::LoadedSymbols<cuda::CudaDriverSymbols> driver =
      cuda::loadCudaDriver({"CUDA driver library", "", {path}});
  EXPECT_FALSE(driver.loaded);
  EXPECT_CONTAINS(driver.error, "load errors: ");
}

// Tests the default searches: the driver's soname first and never the toolkit's stub library;
// NVRTC's sonames for CUDA 13 and 12, then the toolkit folder.
TEST(LibrarySearch, DefaultCandidates) {
  LibrarySearch driver = cuda::cudaDriverSearch();
  ASSERT_FALSE(driver.candidates.empty());
  EXPECT_EQ(driver.candidates.front(), "libcuda.so.1");
  for (const std::string &candidate : driver.candidates)
    EXPECT_EQ(candidate.find("stubs"), std::string::npos) << candidate;
  LibrarySearch nvrtc = cuda::nvrtcSearch();
  EXPECT_EQ(nvrtc.candidates.front(), "libnvrtc.so.13");
  EXPECT_NE(std::find(nvrtc.candidates.begin(), nvrtc.candidates.end(),
                      "/usr/local/cuda/lib64/libnvrtc.so.13"),
            nvrtc.candidates.end());
}

// Tests that with no driver anywhere, openHipPlatform says what it tried for both vendors.
TEST(OpenHipPlatform, NoDriverExplainsEveryPlatform) {
  ScopedEnvironment cuda("GRETA_CUDA_LIBRARY", "/nonexistent/libcuda.so.1");
  ScopedEnvironment amd("GRETA_HIP_LIBRARY", "/nonexistent/libamdhip64.so");
  if (loadHipOnCuda().runtimeLoaded || loadHipOnAmd().runtimeLoaded)
    GTEST_SKIP() << "a GPU runtime was already loaded by this process; run tests one per process";
  try {
    openHipPlatform(PlatformPreference::Auto);
    FAIL() << "no exception";
  } catch (const Error &error) {
    std::string message = error.what();
    EXPECT_CONTAINS(message, "no usable GPU platform:");
    EXPECT_CONTAINS(message, "NVIDIA (HIP-on-CUDA): CUDA driver library");
    EXPECT_CONTAINS(message, "/nonexistent/libcuda.so.1");
    EXPECT_CONTAINS(message, "AMD (ROCm HIP):");
  }
}

// Tests that a vendor preference tries only that vendor.
TEST(OpenHipPlatform, PreferenceTriesOnlyThatVendor) {
  ScopedEnvironment cuda("GRETA_CUDA_LIBRARY", "/nonexistent/libcuda.so.1");
  if (loadHipOnCuda().runtimeLoaded)
    GTEST_SKIP() << "the CUDA driver was already loaded by this process";
  try {
    openHipPlatform(PlatformPreference::Nvidia);
    FAIL() << "no exception";
  } catch (const Error &error) {
    EXPECT_CONTAINS(error.what(), "/nonexistent/libcuda.so.1");
    EXPECT_EQ(std::string(error.what()).find("AMD"), std::string::npos);
  }
}

// Tests that a machine with ROCm installed but no AMD GPU (this development machine) is told
// apart from one without ROCm.
TEST(OpenHipPlatform, AmdRuntimeWithoutGpuSaysSo) {
  HipProviderLoad amd = loadHipOnAmd();
  if (!amd.runtimeLoaded)
    GTEST_SKIP() << "no ROCm runtime here: " << amd.runtimeError;
  int count = 0;
  if (amd.api.hipInit(0) == hipSuccess && amd.api.hipGetDeviceCount(&count) == hipSuccess &&
      count > 0)
    GTEST_SKIP() << "an AMD GPU is present";
  try {
    openHipPlatform(PlatformPreference::Amd);
    FAIL() << "no exception";
  } catch (const Error &error) {
    EXPECT_CONTAINS(error.what(), "loaded, but it finds no GPU");
  }
}

HipPlatform fakePlatform() {
  HipPlatform platform;
  platform.vendor = Vendor::Nvidia;
  platform.platformName = "HIP-on-CUDA";
  platform.device.name = "Fake GPU";
  platform.device.arch = "sm_90";
  platform.device.warpSize = 32;
  return platform;
}

[[noreturn]] HipPlatform failingOpener(PlatformPreference) {
  fail("no usable GPU platform:\n  NVIDIA (HIP-on-CUDA): CUDA driver library not found (tried "
       "libcuda.so.1)\n  AMD (ROCm HIP): ROCm HIP runtime not found (tried libamdhip64.so.6)");
}

// Tests that --device=auto without a GPU falls back to the CPU with a one-line notice.
TEST(SelectDevice, AutoFallsBackToCpuWithOneLineNotice) {
  DeviceChoice choice = selectDevice(parseDeviceRequest("auto"), failingOpener);
  EXPECT_EQ(choice.backend, DeviceKind::Cpu);
  EXPECT_FALSE(choice.hip.has_value());
  EXPECT_EQ(choice.notice.find('\n'), std::string::npos) << choice.notice;
  EXPECT_CONTAINS(choice.notice, "greta: no usable GPU, running on the CPU");
  EXPECT_CONTAINS(choice.notice, "CUDA driver library not found (tried libcuda.so.1); AMD");
}

// Tests that --device=hip without a GPU is an error carrying the whole reason.
TEST(SelectDevice, HipWithoutGpuIsAnError) {
  try {
    selectDevice(parseDeviceRequest("hip"), failingOpener);
    FAIL() << "no exception";
  } catch (const Error &error) {
    std::string message = error.what();
    EXPECT_CONTAINS(message, "--device=hip: no usable GPU platform:");
    EXPECT_CONTAINS(message, "tried libamdhip64.so.6");
  }
}

// Tests that --device=cpu opens nothing, and that a usable GPU is chosen without a notice.
TEST(SelectDevice, CpuOpensNothingAndGpuIsChosenQuietly) {
  int opened = 0;
  DeviceChoice cpu = selectDevice(parseDeviceRequest("cpu"), [&](PlatformPreference) {
    ++opened;
    return fakePlatform();
  });
  EXPECT_EQ(cpu.backend, DeviceKind::Cpu);
  EXPECT_EQ(opened, 0);

  for (const char *request : {"auto", "hip"}) {
    DeviceChoice gpu = selectDevice(parseDeviceRequest(request), [&](PlatformPreference) {
      ++opened;
      return fakePlatform();
    });
    EXPECT_EQ(gpu.backend, DeviceKind::Hip) << request;
    ASSERT_TRUE(gpu.hip.has_value());
    EXPECT_EQ(gpu.hip->device.arch, "sm_90");
    EXPECT_TRUE(gpu.notice.empty());
  }
  EXPECT_EQ(opened, 2);
}

// Tests that hip:amd / hip:nvidia reach the opener as a preference.
TEST(SelectDevice, VendorRequestIsPassedOn) {
  PlatformPreference seen = PlatformPreference::Auto;
  selectDevice(parseDeviceRequest("hip:amd"), [&](PlatformPreference preference) {
    seen = preference;
    return fakePlatform();
  });
  EXPECT_EQ(seen, PlatformPreference::Amd);
  selectDevice(parseDeviceRequest("hip:nvidia"), [&](PlatformPreference preference) {
    seen = preference;
    return fakePlatform();
  });
  EXPECT_EQ(seen, PlatformPreference::Nvidia);
}

// Tests that an unknown --device value names itself and the accepted values.
TEST(SelectDevice, UnknownRequestIsRefused) {
  try {
    parseDeviceRequest("gpu");
    FAIL() << "no exception";
  } catch (const Error &error) {
    EXPECT_STREQ(error.what(), "--device: 'gpu' is not one of auto, cpu, hip, hip:amd, hip:nvidia");
  }
}

// Tests the real default opener: a notice without a GPU, a platform with one.
TEST(SelectDevice, AutoOnThisMachine) {
  DeviceChoice choice = selectDevice(parseDeviceRequest("auto"));
  if (choice.backend == DeviceKind::Hip) {
    ASSERT_TRUE(choice.hip.has_value());
    EXPECT_FALSE(choice.hip->device.arch.empty());
  } else {
    EXPECT_CONTAINS(choice.notice, "running on the CPU");
  }
}

TEST(FormatBytes, Units) {
  EXPECT_EQ(formatBytes(17), "17 bytes");
  EXPECT_EQ(formatBytes(4096), "4.0 KiB");
  EXPECT_EQ(formatBytes(size_t{3} << 29), "1.50 GiB");
  EXPECT_EQ(formatBytes(size_t{512} << 20), "512.0 MiB");
}

} // namespace
} // namespace greta::hip
