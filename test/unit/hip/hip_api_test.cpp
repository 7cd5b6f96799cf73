// Tests of the HipApi table, its error reporting and the resource wrappers, over fake tables
// (no GPU, no GPU library).

#include "runtime/hip/cuda/cuda_errors.h"
#include "runtime/hip/hip_api.h"
#include "runtime/hip/hip_provider.h"
#include "runtime/hip/hip_resources.h"
#include "test/unit/hip/hip_test_support.h"

#include <gtest/gtest.h>

#include <set>
#include <stdexcept>
#include <string>

namespace greta::hip {
namespace {

constexpr size_t kGiB = size_t{1} << 30;

/// A table whose every entry fails cleanly, for tests to override the entries they need.
HipApi fakeApi() {
  HipApi api;
  setUnavailableEntries(api, /*runtime=*/true, /*compiler=*/true);
  return api;
}

// Tests that the entry-name list and the struct come from the same X-macro list.
TEST(HipApiTable, EntryNamesCoverEveryFunctionPointer) {
  EXPECT_EQ(kHipApiEntryNames.size() * sizeof(void *), sizeof(HipApi));
  std::set<std::string_view> unique(kHipApiEntryNames.begin(), kHipApiEntryNames.end());
  EXPECT_EQ(unique.size(), kHipApiEntryNames.size());
  for (std::string_view needed : {"hipMalloc", "hipModuleLaunchKernel", "hipStreamBeginCapture",
                                  "hipGraphLaunch", "hipDeviceGetArchName", "hiprtcGetCode"})
    EXPECT_TRUE(unique.contains(needed)) << needed;
}

// Tests that an empty table reports every entry as missing, by name.
TEST(HipApiTable, MissingEntriesAreNamed) {
  HipApi empty;
  EXPECT_EQ(missingHipApiEntries(empty).size(), kHipApiEntryNames.size());
  HipApi partial = fakeApi();
  partial.hipMalloc = nullptr;
  EXPECT_EQ(missingHipApiEntries(partial), std::vector<std::string_view>{"hipMalloc"});
}

// Tests that the HIP-on-CUDA provider implements every entry of hip_api.def.
TEST(HipApiTable, HipOnCudaFillsEveryEntry) {
  EXPECT_EQ(missingHipApiEntries(hipOnCudaAdapters()), std::vector<std::string_view>{});
}

// Tests that the AMD provider implements every entry of hip_api.def (where it is built).
TEST(HipApiTable, HipOnAmdFillsEveryEntry) {
  if (!hipOnAmdBuilt())
    GTEST_SKIP() << "built without ROCm's headers";
  EXPECT_EQ(missingHipApiEntries(hipOnAmdAdapters()), std::vector<std::string_view>{});
}

// Tests that the stubs for a library that did not load fail without crashing.
TEST(HipApiTable, UnavailableEntriesFailCleanly) {
  HipApi api = fakeApi();
  EXPECT_TRUE(missingHipApiEntries(api).empty());
  void *pointer = nullptr;
  EXPECT_EQ(api.hipMalloc(&pointer, 16), hipErrorNotInitialized);
  int major = 0, minor = 0;
  EXPECT_EQ(api.hiprtcVersion(&major, &minor), HIPRTC_ERROR_INTERNAL_ERROR);
  EXPECT_NE(api.hipGetErrorString(hipErrorOutOfMemory), nullptr);
}

// Tests the names and descriptions of listed and unlisted codes.
TEST(HipErrors, NamesAndDescriptions) {
  EXPECT_EQ(hipErrorName(hipErrorOutOfMemory), "hipErrorOutOfMemory");
  EXPECT_STREQ(hipErrorDescription(hipErrorOutOfMemory), "out of memory");
  EXPECT_EQ(hipErrorName(static_cast<hipError_t>(12345)), "hipError(12345)");
  EXPECT_STREQ(hipErrorDescription(static_cast<hipError_t>(12345)), "unrecognised HIP error");
}

// Tests that CUDA driver results map through the switch, unknown ones to hipErrorUnknown.
TEST(HipErrors, CudaResultsMapToHipErrors) {
  EXPECT_EQ(hipErrorFromCudaResult(0), hipSuccess);
  EXPECT_EQ(hipErrorFromCudaResult(2), hipErrorOutOfMemory);    // CUDA_ERROR_OUT_OF_MEMORY
  EXPECT_EQ(hipErrorFromCudaResult(34), hipErrorInsufficientDriver); // CUDA_ERROR_STUB_LIBRARY
  EXPECT_EQ(hipErrorFromCudaResult(100), hipErrorNoDevice);     // CUDA_ERROR_NO_DEVICE
  EXPECT_EQ(hipErrorFromCudaResult(218), hipErrorInvalidKernelFile); // CUDA_ERROR_INVALID_PTX
  EXPECT_EQ(hipErrorFromCudaResult(500), hipErrorNotFound);     // CUDA_ERROR_NOT_FOUND
  EXPECT_EQ(hipErrorFromCudaResult(905), hipErrorStreamCaptureIsolation);
  EXPECT_EQ(hipErrorFromCudaResult(46), hipErrorUnknown); // CUDA_ERROR_DEVICE_UNAVAILABLE
}

// Tests that GRETA_HIP_CHECK names the call, the source line, the error and its description.
TEST(HipCheck, FailureNamesCallLineAndError) {
  HipApi api = fakeApi();
  api.hipStreamSynchronize = [](hipStream_t) { return hipErrorIllegalAddress; };
  api.hipGetErrorName = nullptr; // fall back to GRETA's own names
  api.hipGetErrorString = nullptr;
  try {
    GRETA_HIP_CHECK(api, hipStreamSynchronize(nullptr));
    FAIL() << "no exception";
  } catch (const HipError &error) {
    std::string message = error.what();
    EXPECT_CONTAINS(message, "hipStreamSynchronize(nullptr) failed at ");
    EXPECT_CONTAINS(message, "test/unit/hip/hip_api_test.cpp:");
    EXPECT_CONTAINS(message, "hipErrorIllegalAddress: illegal memory access");
    EXPECT_EQ(error.code(), hipErrorIllegalAddress);
    EXPECT_EQ(error.call(), "hipStreamSynchronize");
    EXPECT_FALSE(error.fromRtc());
  }
}

// Tests that a successful call does not throw and an RTC failure quotes the compiler's text.
TEST(HipCheck, SuccessPassesAndRtcFailuresAreNamed) {
  HipApi api = fakeApi();
  api.hipDeviceSynchronize = []() { return hipSuccess; };
  EXPECT_NO_THROW(GRETA_HIP_CHECK(api, hipDeviceSynchronize()));
  api.hiprtcCompileProgram = [](hiprtcProgram, int, const char *const *) {
    return HIPRTC_ERROR_COMPILATION;
  };
  api.hiprtcGetErrorString = [](hiprtcResult) { return "NVRTC_ERROR_COMPILATION"; };
  try {
    GRETA_HIP_CHECK(api, hiprtcCompileProgram(nullptr, 0, nullptr));
    FAIL() << "no exception";
  } catch (const HipError &error) {
    EXPECT_CONTAINS(std::string(error.what()), "NVRTC_ERROR_COMPILATION");
    EXPECT_TRUE(error.fromRtc());
    EXPECT_EQ(error.call(), "hiprtcCompileProgram");
  }
}

// Fake device memory for the resource tests: a counter of live allocations.
int gLiveAllocations = 0;
size_t gFreeBytes = 0;
bool gMemGetInfoFails = false;

HipApi fakeMemoryApi() {
  HipApi api = fakeApi();
  gLiveAllocations = 0;
  gMemGetInfoFails = false;
  api.hipMalloc = [](void **pointer, size_t bytes) {
    *pointer = nullptr;
    if (bytes > gFreeBytes)
      return hipErrorOutOfMemory;
    *pointer = new char[bytes];
    ++gLiveAllocations;
    return hipSuccess;
  };
  api.hipFree = [](void *pointer) {
    delete[] static_cast<char *>(pointer);
    --gLiveAllocations;
    return hipSuccess;
  };
  api.hipMemGetInfo = [](size_t *freeBytes, size_t *totalBytes) {
    *freeBytes = gFreeBytes;
    *totalBytes = 80 * kGiB;
    return gMemGetInfoFails ? hipErrorInvalidContext : hipSuccess;
  };
  return api;
}

// Tests the out-of-memory message: purpose, bytes requested, bytes free and total (issue 7).
TEST(DeviceBuffer, OutOfMemorySaysRequestedAndFree) {
  HipApi api = fakeMemoryApi();
  gFreeBytes = kGiB;
  try {
    DeviceBuffer buffer(api, 3 * kGiB, "kv cache");
    FAIL() << "no exception";
  } catch (const HipError &error) {
    std::string message = error.what();
    EXPECT_TRUE(error.isOutOfMemory());
    EXPECT_CONTAINS(message, "out of GPU memory: 'kv cache' needs 3.00 GiB (3221225472 bytes)");
    EXPECT_CONTAINS(message, "the device has 1.00 GiB free of 80.00 GiB");
    EXPECT_CONTAINS(message, "hipMalloc");
  }
  EXPECT_EQ(gLiveAllocations, 0);
}

// Tests the out-of-memory message when the free memory cannot be read either.
TEST(DeviceBuffer, OutOfMemoryWithUnknownFreeMemory) {
  HipApi api = fakeMemoryApi();
  gFreeBytes = 0;
  gMemGetInfoFails = true;
  try {
    DeviceBuffer buffer(api, 4096, "logits");
    FAIL() << "no exception";
  } catch (const HipError &error) {
    EXPECT_CONTAINS(std::string(error.what()),
                    "'logits' needs 4.0 KiB (4096 bytes); free memory unknown "
                    "(hipMemGetInfo: hipErrorInvalidContext)");
  }
}

// Tests that buffers are freed exactly once, also after moves.
TEST(DeviceBuffer, FreesOnceAfterMoves) {
  HipApi api = fakeMemoryApi();
  gFreeBytes = kGiB;
  {
    DeviceBuffer first(api, 64, "a");
    EXPECT_EQ(gLiveAllocations, 1);
    DeviceBuffer second = std::move(first);
    EXPECT_EQ(first.data(), nullptr);
    DeviceBuffer third(api, 32, "b");
    third = std::move(second); // frees b
    EXPECT_EQ(gLiveAllocations, 1);
    EXPECT_EQ(third.size(), 64u);
  }
  EXPECT_EQ(gLiveAllocations, 0);
}

// Fake graph capture: records what happened.
int gCaptureEnds = 0;
int gGraphsDestroyed = 0;
int gExecsCreated = 0;
int gExecsDestroyed = 0;

HipApi fakeGraphApi() {
  HipApi api = fakeApi();
  gCaptureEnds = gGraphsDestroyed = gExecsCreated = gExecsDestroyed = 0;
  static int graphObject = 0, execObject = 0;
  api.hipStreamBeginCapture = [](hipStream_t, hipStreamCaptureMode) { return hipSuccess; };
  api.hipStreamEndCapture = [](hipStream_t, hipGraph_t *graph) {
    ++gCaptureEnds;
    *graph = reinterpret_cast<hipGraph_t>(&graphObject);
    return hipSuccess;
  };
  api.hipGraphDestroy = [](hipGraph_t) {
    ++gGraphsDestroyed;
    return hipSuccess;
  };
  api.hipGraphInstantiate = [](hipGraphExec_t *exec, hipGraph_t, hipGraphNode_t *, char *,
                               size_t) {
    ++gExecsCreated;
    *exec = reinterpret_cast<hipGraphExec_t>(&execObject);
    return hipSuccess;
  };
  api.hipGraphExecDestroy = [](hipGraphExec_t) {
    ++gExecsDestroyed;
    return hipSuccess;
  };
  api.hipGraphLaunch = [](hipGraphExec_t, hipStream_t) { return hipSuccess; };
  return api;
}

// Tests that a capture whose enqueue throws is ended and its graph destroyed.
TEST(GraphExec, CaptureThatThrowsIsEndedAndDiscarded) {
  HipApi api = fakeGraphApi();
  EXPECT_THROW(GraphExec::capture(api, nullptr, [] { throw std::runtime_error("enqueue"); }),
               std::runtime_error);
  EXPECT_EQ(gCaptureEnds, 1);
  EXPECT_EQ(gGraphsDestroyed, 1);
  EXPECT_EQ(gExecsCreated, 0);
}

// Tests that a capture instantiates once, frees the graph, and frees the executable at the end.
TEST(GraphExec, CaptureInstantiatesAndReleases) {
  HipApi api = fakeGraphApi();
  {
    int enqueued = 0;
    GraphExec exec = GraphExec::capture(api, nullptr, [&] { ++enqueued; });
    EXPECT_EQ(enqueued, 1);
    EXPECT_NO_THROW(exec.launch(nullptr));
    EXPECT_EQ(gGraphsDestroyed, 1);
    EXPECT_EQ(gExecsDestroyed, 0);
  }
  EXPECT_EQ(gExecsCreated, 1);
  EXPECT_EQ(gExecsDestroyed, 1);
}

// Tests that a code object that is not ELF never reaches the driver.
TEST(Module, NonElfCodeIsRefusedBeforeTheDriver) {
  HipApi api = fakeApi();
  api.hipModuleLoadData = [](hipModule_t *, const void *) -> hipError_t {
    ADD_FAILURE() << "the driver was called";
    return hipErrorInvalidImage;
  };
  std::vector<uint8_t> ptxLike = {'.', 'v', 'e', 'r', 's', 'i', 'o', 'n'};
  try {
    Module module(api, ptxLike, "greta_test_kernel");
    FAIL() << "no exception";
  } catch (const Error &error) {
    EXPECT_CONTAINS(error.what(), "kernel 'greta_test_kernel': its code object (8 bytes) is not an "
                                  "ELF file");
  }
}

} // namespace
} // namespace greta::hip
