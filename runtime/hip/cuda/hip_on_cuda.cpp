//===- hip_on_cuda.cpp - The HIP subset over the CUDA driver API and NVRTC -----===//
//
// GRETA's HIP-on-CUDA layer: each HipApi entry implemented with cu*/nvrtc* calls, following
// HIP's (and the CUDA runtime's) model — a current device per thread (device 0 until
// hipSetDevice), backed by the device's primary context, made current on the calling thread on
// first use. Out-parameters are zeroed before the driver is called, so a failed call never
// leaves a stale handle behind.
//
//===----------------------------------------------------------------------===//
#include "runtime/hip/cuda/cuda_errors.h"
#include "runtime/hip/cuda/cuda_library.h"
#include "runtime/hip/hip_provider.h"

#include <fmt/format.h>

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>

namespace greta::hip {
namespace {

using namespace greta::cuda;

const CudaDriverSymbols *gDriver = nullptr; // set once, when the driver loads
const NvrtcSymbols *gNvrtc = nullptr;       // set once, when NVRTC loads

/// The driver's last failure on this thread, so hipGetErrorString can quote the driver.
thread_local CUresult tLastFailure = CUDA_SUCCESS;
/// HIP's current device of this thread, and the context made current for it.
thread_local int tDevice = 0;
thread_local int tBoundDevice = -1;

hipError_t fromCu(CUresult result) {
  if (result != CUDA_SUCCESS)
    tLastFailure = result;
  return hipErrorFromCudaResult(result);
}

/// cuInit(0), once per process; HIP initialises implicitly, so every entry may come first.
CUresult initialized() {
  static const CUresult result = gDriver->cuInit(0);
  return result;
}

CUdeviceptr devicePointer(const void *pointer) {
  return static_cast<CUdeviceptr>(reinterpret_cast<uintptr_t>(pointer));
}
CUstream cu(hipStream_t stream) { return reinterpret_cast<CUstream>(stream); }
CUevent cu(hipEvent_t event) { return reinterpret_cast<CUevent>(event); }
CUmodule cu(hipModule_t module) { return reinterpret_cast<CUmodule>(module); }
CUfunction cu(hipFunction_t function) { return reinterpret_cast<CUfunction>(function); }
CUgraph cu(hipGraph_t graph) { return reinterpret_cast<CUgraph>(graph); }
CUgraphExec cu(hipGraphExec_t exec) { return reinterpret_cast<CUgraphExec>(exec); }
nvrtcProgram cu(hiprtcProgram program) { return reinterpret_cast<nvrtcProgram>(program); }

std::optional<CUdevice_attribute> cudaAttribute(hipDeviceAttribute_t attribute) {
  switch (attribute) {
  case hipDeviceAttributeMaxThreadsPerBlock:
    return CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK;
  case hipDeviceAttributeWarpSize:
    return CU_DEVICE_ATTRIBUTE_WARP_SIZE;
  case hipDeviceAttributeMultiprocessorCount:
    return CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT;
  case hipDeviceAttributeMaxSharedMemoryPerBlock:
    return CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK;
  case hipDeviceAttributeSharedMemPerBlockOptin:
    return CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN;
  case hipDeviceAttributeComputeCapabilityMajor:
    return CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR;
  case hipDeviceAttributeComputeCapabilityMinor:
    return CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR;
  case hipDeviceAttributeL2CacheSize:
    return CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE;
  case hipDeviceAttributeMemoryBusWidth:
    return CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH;
  case hipDeviceAttributeMemoryClockRate:
    return CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE;
  case hipDeviceAttributeClockRate:
    return CU_DEVICE_ATTRIBUTE_CLOCK_RATE;
  }
  return std::nullopt;
}

/// Primary contexts by device ordinal, retained on first use and kept for the process's life.
class PrimaryContexts {
public:
  CUresult get(int ordinal, CUcontext &context) {
    std::lock_guard lock(mutex_);
    if (static_cast<size_t>(ordinal) >= contexts_.size())
      contexts_.resize(ordinal + 1, nullptr);
    if (!contexts_[ordinal]) {
      CUdevice device = 0;
      if (CUresult result = gDriver->cuDeviceGet(&device, ordinal); result != CUDA_SUCCESS)
        return result;
      if (CUresult result = gDriver->cuDevicePrimaryCtxRetain(&contexts_[ordinal], device);
          result != CUDA_SUCCESS)
        return result;
    }
    context = contexts_[ordinal];
    return CUDA_SUCCESS;
  }

private:
  std::mutex mutex_;
  std::vector<CUcontext> contexts_;
};

PrimaryContexts &primaryContexts() {
  static PrimaryContexts contexts;
  return contexts;
}

/// Makes this thread's current device's primary context current, if it is not already.
CUresult bindCurrentDevice() {
  if (tBoundDevice == tDevice)
    return CUDA_SUCCESS;
  if (CUresult result = initialized(); result != CUDA_SUCCESS)
    return result;
  CUcontext context = nullptr;
  if (CUresult result = primaryContexts().get(tDevice, context); result != CUDA_SUCCESS)
    return result;
  if (CUresult result = gDriver->cuCtxSetCurrent(context); result != CUDA_SUCCESS)
    return result;
  tBoundDevice = tDevice;
  return CUDA_SUCCESS;
}

/// Returns from the enclosing adapter with the HIP error for a failed driver call.
#define GRETA_CU_RETURN_IF_FAILED(expression)                                                      \
  if (CUresult result_ = (expression); result_ != CUDA_SUCCESS)                                    \
    return fromCu(result_);

/// Each entry of hip_api.def, over the driver. Names are HIP's so the table reads one-to-one.
struct HipOnCuda {
  // Devices.
  static hipError_t hipInit(unsigned flags) {
    return flags != 0 ? hipErrorInvalidValue : fromCu(initialized());
  }
  static hipError_t hipDriverGetVersion(int *version) {
    *version = 0;
    return fromCu(gDriver->cuDriverGetVersion(version));
  }
  static hipError_t hipGetDeviceCount(int *count) {
    *count = 0;
    GRETA_CU_RETURN_IF_FAILED(initialized());
    GRETA_CU_RETURN_IF_FAILED(gDriver->cuDeviceGetCount(count));
    return *count > 0 ? hipSuccess : hipErrorNoDevice;
  }
  static hipError_t hipSetDevice(int device) {
    int count = 0;
    if (hipError_t error = hipGetDeviceCount(&count); error != hipSuccess)
      return error;
    if (device < 0 || device >= count)
      return hipErrorInvalidDevice;
    tDevice = device;
    return fromCu(bindCurrentDevice());
  }
  static hipError_t hipDeviceGetName(char *name, int length, int device) {
    if (length > 0)
      name[0] = '\0';
    CUdevice handle = 0;
    GRETA_CU_RETURN_IF_FAILED(initialized());
    GRETA_CU_RETURN_IF_FAILED(gDriver->cuDeviceGet(&handle, device));
    return fromCu(gDriver->cuDeviceGetName(name, length, handle));
  }
  static hipError_t hipDeviceGetAttribute(int *value, hipDeviceAttribute_t attribute,
                                          int device) {
    *value = 0;
    std::optional<CUdevice_attribute> cudaValue = cudaAttribute(attribute);
    if (!cudaValue)
      return hipErrorInvalidValue;
    CUdevice handle = 0;
    GRETA_CU_RETURN_IF_FAILED(initialized());
    GRETA_CU_RETURN_IF_FAILED(gDriver->cuDeviceGet(&handle, device));
    return fromCu(gDriver->cuDeviceGetAttribute(value, *cudaValue, handle));
  }
  static hipError_t hipDeviceGetArchName(char *name, int length, int device) {
    if (length > 0)
      name[0] = '\0';
    int major = 0, minor = 0;
    if (hipError_t error =
            hipDeviceGetAttribute(&major, hipDeviceAttributeComputeCapabilityMajor, device);
        error != hipSuccess)
      return error;
    if (hipError_t error =
            hipDeviceGetAttribute(&minor, hipDeviceAttributeComputeCapabilityMinor, device);
        error != hipSuccess)
      return error;
    std::string arch = fmt::format("sm_{}{}", major, minor);
    if (length <= 0 || arch.size() >= static_cast<size_t>(length))
      return hipErrorInvalidValue;
    arch.copy(name, arch.size());
    name[arch.size()] = '\0';
    return hipSuccess;
  }
  static hipError_t hipDeviceSynchronize() {
    GRETA_CU_RETURN_IF_FAILED(bindCurrentDevice());
    return fromCu(gDriver->cuCtxSynchronize());
  }
  static const char *hipGetErrorName(hipError_t error) {
    thread_local std::string name;
    name = hip::hipErrorName(error);
    return name.c_str();
  }
  /// HIP's description, with the driver's own name and text when this thread's last driver
  /// failure is what produced `error`.
  static const char *hipGetErrorString(hipError_t error) {
    if (!gDriver || tLastFailure == CUDA_SUCCESS || hipErrorFromCudaResult(tLastFailure) != error)
      return hipErrorDescription(error);
    const char *name = nullptr;
    const char *text = nullptr;
    gDriver->cuGetErrorName(tLastFailure, &name);
    gDriver->cuGetErrorString(tLastFailure, &text);
    thread_local std::string description;
    description = fmt::format("{} (CUDA driver: {} {})", hipErrorDescription(error),
                              name ? name : "unnamed result", tLastFailure);
    if (text && error == hipErrorUnknown)
      description += fmt::format(": {}", text);
    return description.c_str();
  }

  // Memory.
  static hipError_t hipMemGetInfo(size_t *freeBytes, size_t *totalBytes) {
    *freeBytes = 0;
    *totalBytes = 0;
    GRETA_CU_RETURN_IF_FAILED(bindCurrentDevice());
    return fromCu(gDriver->cuMemGetInfo(freeBytes, totalBytes));
  }
  static hipError_t hipMalloc(void **pointer, size_t bytes) {
    *pointer = nullptr;
    if (bytes == 0) // HIP: success with a null pointer; the driver would reject the size
      return hipSuccess;
    GRETA_CU_RETURN_IF_FAILED(bindCurrentDevice());
    CUdeviceptr address = 0;
    GRETA_CU_RETURN_IF_FAILED(gDriver->cuMemAlloc(&address, bytes));
    *pointer = reinterpret_cast<void *>(static_cast<uintptr_t>(address));
    return hipSuccess;
  }
  static hipError_t hipFree(void *pointer) {
    if (!pointer)
      return hipSuccess;
    GRETA_CU_RETURN_IF_FAILED(bindCurrentDevice());
    return fromCu(gDriver->cuMemFree(devicePointer(pointer)));
  }
  static hipError_t hipHostMalloc(void **pointer, size_t bytes, unsigned flags) {
    *pointer = nullptr;
    if (bytes == 0)
      return hipSuccess;
    GRETA_CU_RETURN_IF_FAILED(bindCurrentDevice());
    // hipHostMalloc{Portable,Mapped,WriteCombined} have CU_MEMHOSTALLOC_*'s values.
    return fromCu(gDriver->cuMemHostAlloc(pointer, bytes, flags));
  }
  static hipError_t hipHostFree(void *pointer) {
    if (!pointer)
      return hipSuccess;
    GRETA_CU_RETURN_IF_FAILED(bindCurrentDevice());
    return fromCu(gDriver->cuMemFreeHost(pointer));
  }
  static hipError_t hipMemcpy(void *destination, const void *source, size_t bytes,
                              hipMemcpyKind kind) {
    if (bytes == 0)
      return hipSuccess;
    GRETA_CU_RETURN_IF_FAILED(bindCurrentDevice());
    switch (kind) {
    case hipMemcpyHostToDevice:
      return fromCu(gDriver->cuMemcpyHtoD(devicePointer(destination), source, bytes));
    case hipMemcpyDeviceToHost:
      return fromCu(gDriver->cuMemcpyDtoH(destination, devicePointer(source), bytes));
    case hipMemcpyDeviceToDevice:
      return fromCu(gDriver->cuMemcpyDtoD(devicePointer(destination), devicePointer(source),
                                          bytes));
    case hipMemcpyHostToHost:
    case hipMemcpyDefault: // unified addressing: the driver infers the direction
      return fromCu(gDriver->cuMemcpy(devicePointer(destination), devicePointer(source), bytes));
    }
    return hipErrorInvalidValue;
  }
  static hipError_t hipMemcpyAsync(void *destination, const void *source, size_t bytes,
                                   hipMemcpyKind kind, hipStream_t stream) {
    if (bytes == 0)
      return hipSuccess;
    GRETA_CU_RETURN_IF_FAILED(bindCurrentDevice());
    switch (kind) {
    case hipMemcpyHostToDevice:
      return fromCu(
          gDriver->cuMemcpyHtoDAsync(devicePointer(destination), source, bytes, cu(stream)));
    case hipMemcpyDeviceToHost:
      return fromCu(
          gDriver->cuMemcpyDtoHAsync(destination, devicePointer(source), bytes, cu(stream)));
    case hipMemcpyDeviceToDevice:
      return fromCu(gDriver->cuMemcpyDtoDAsync(devicePointer(destination), devicePointer(source),
                                               bytes, cu(stream)));
    case hipMemcpyHostToHost:
    case hipMemcpyDefault:
      return fromCu(gDriver->cuMemcpyAsync(devicePointer(destination), devicePointer(source),
                                           bytes, cu(stream)));
    }
    return hipErrorInvalidValue;
  }
  static hipError_t hipMemsetAsync(void *destination, int value, size_t bytes,
                                   hipStream_t stream) {
    if (bytes == 0)
      return hipSuccess;
    GRETA_CU_RETURN_IF_FAILED(bindCurrentDevice());
    return fromCu(gDriver->cuMemsetD8Async(devicePointer(destination),
                                           static_cast<unsigned char>(value), bytes, cu(stream)));
  }

  // Streams and events.
  static hipError_t hipStreamCreate(hipStream_t *stream) {
    *stream = nullptr;
    GRETA_CU_RETURN_IF_FAILED(bindCurrentDevice());
    CUstream created = nullptr;
    GRETA_CU_RETURN_IF_FAILED(gDriver->cuStreamCreate(&created, CU_STREAM_DEFAULT));
    *stream = reinterpret_cast<hipStream_t>(created);
    return hipSuccess;
  }
  static hipError_t hipStreamCreateWithPriority(hipStream_t *stream, unsigned flags,
                                                int priority) {
    *stream = nullptr;
    GRETA_CU_RETURN_IF_FAILED(bindCurrentDevice());
    CUstream created = nullptr;
    GRETA_CU_RETURN_IF_FAILED(gDriver->cuStreamCreateWithPriority(&created, flags, priority));
    *stream = reinterpret_cast<hipStream_t>(created);
    return hipSuccess;
  }
  static hipError_t hipDeviceGetStreamPriorityRange(int *leastPriority, int *greatestPriority) {
    GRETA_CU_RETURN_IF_FAILED(bindCurrentDevice());
    return fromCu(gDriver->cuCtxGetStreamPriorityRange(leastPriority, greatestPriority));
  }
  static hipError_t hipStreamDestroy(hipStream_t stream) {
    GRETA_CU_RETURN_IF_FAILED(bindCurrentDevice());
    return fromCu(gDriver->cuStreamDestroy(cu(stream)));
  }
  static hipError_t hipStreamSynchronize(hipStream_t stream) {
    GRETA_CU_RETURN_IF_FAILED(bindCurrentDevice());
    return fromCu(gDriver->cuStreamSynchronize(cu(stream)));
  }
  static hipError_t hipStreamWaitEvent(hipStream_t stream, hipEvent_t event, unsigned flags) {
    GRETA_CU_RETURN_IF_FAILED(bindCurrentDevice());
    return fromCu(gDriver->cuStreamWaitEvent(cu(stream), cu(event), flags));
  }
  static hipError_t hipEventCreate(hipEvent_t *event) {
    *event = nullptr;
    GRETA_CU_RETURN_IF_FAILED(bindCurrentDevice());
    CUevent created = nullptr;
    GRETA_CU_RETURN_IF_FAILED(gDriver->cuEventCreate(&created, CU_EVENT_DEFAULT));
    *event = reinterpret_cast<hipEvent_t>(created);
    return hipSuccess;
  }
  static hipError_t hipEventDestroy(hipEvent_t event) {
    GRETA_CU_RETURN_IF_FAILED(bindCurrentDevice());
    return fromCu(gDriver->cuEventDestroy(cu(event)));
  }
  static hipError_t hipEventRecord(hipEvent_t event, hipStream_t stream) {
    GRETA_CU_RETURN_IF_FAILED(bindCurrentDevice());
    return fromCu(gDriver->cuEventRecord(cu(event), cu(stream)));
  }
  static hipError_t hipEventSynchronize(hipEvent_t event) {
    GRETA_CU_RETURN_IF_FAILED(bindCurrentDevice());
    return fromCu(gDriver->cuEventSynchronize(cu(event)));
  }
  static hipError_t hipEventElapsedTime(float *milliseconds, hipEvent_t start, hipEvent_t stop) {
    *milliseconds = 0.0f;
    GRETA_CU_RETURN_IF_FAILED(bindCurrentDevice());
    return fromCu(gDriver->cuEventElapsedTime(milliseconds, cu(start), cu(stop)));
  }

  // Code objects and launches.
  static hipError_t hipModuleLoadData(hipModule_t *module, const void *image) {
    *module = nullptr;
    GRETA_CU_RETURN_IF_FAILED(bindCurrentDevice());
    CUmodule loaded = nullptr;
    GRETA_CU_RETURN_IF_FAILED(gDriver->cuModuleLoadData(&loaded, image));
    *module = reinterpret_cast<hipModule_t>(loaded);
    return hipSuccess;
  }
  static hipError_t hipModuleUnload(hipModule_t module) {
    GRETA_CU_RETURN_IF_FAILED(bindCurrentDevice());
    return fromCu(gDriver->cuModuleUnload(cu(module)));
  }
  static hipError_t hipModuleGetFunction(hipFunction_t *function, hipModule_t module,
                                         const char *name) {
    *function = nullptr;
    GRETA_CU_RETURN_IF_FAILED(bindCurrentDevice());
    CUfunction found = nullptr;
    GRETA_CU_RETURN_IF_FAILED(gDriver->cuModuleGetFunction(&found, cu(module), name));
    *function = reinterpret_cast<hipFunction_t>(found);
    return hipSuccess;
  }
  static hipError_t hipModuleLaunchKernel(hipFunction_t function, unsigned gridX, unsigned gridY,
                                          unsigned gridZ, unsigned blockX, unsigned blockY,
                                          unsigned blockZ, unsigned sharedBytes,
                                          hipStream_t stream, void **kernelParams, void **extra) {
    GRETA_CU_RETURN_IF_FAILED(bindCurrentDevice());
    return fromCu(gDriver->cuLaunchKernel(cu(function), gridX, gridY, gridZ, blockX, blockY,
                                          blockZ, sharedBytes, cu(stream), kernelParams, extra));
  }
  static hipError_t hipModuleFunctionAllowDynamicShared(hipFunction_t function, int bytes) {
    GRETA_CU_RETURN_IF_FAILED(bindCurrentDevice());
    return fromCu(gDriver->cuFuncSetAttribute(
        cu(function), CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, bytes));
  }
  static hipError_t hipModuleFunctionPreferShared(hipFunction_t function) {
    GRETA_CU_RETURN_IF_FAILED(bindCurrentDevice());
    return fromCu(gDriver->cuFuncSetAttribute(cu(function),
                                              CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT,
                                              CU_SHAREDMEM_CARVEOUT_MAX_SHARED));
  }
  /// Whether the current device starts kernels early on request (programmatic stream
  /// serialisation: compute capability 9.0 and later), asked once per device and thread.
  static hipError_t earlyStartSupported(bool &supported) {
    thread_local int tAskedDevice = -1;
    thread_local bool tSupported = false;
    if (tAskedDevice != tDevice) {
      int major = 0;
      if (hipError_t error =
              hipDeviceGetAttribute(&major, hipDeviceAttributeComputeCapabilityMajor, tDevice);
          error != hipSuccess)
        return error;
      constexpr int kFirstEarlyStartMajor = 9; // sm_90 (Hopper)
      tSupported = major >= kFirstEarlyStartMajor;
      tAskedDevice = tDevice;
    }
    supported = tSupported;
    return hipSuccess;
  }
  static hipError_t hipModuleLaunchKernelEarly(hipFunction_t function, unsigned gridX,
                                               unsigned gridY, unsigned gridZ, unsigned blockX,
                                               unsigned blockY, unsigned blockZ,
                                               unsigned sharedBytes, hipStream_t stream,
                                               void **kernelParams, void **extra) {
    GRETA_CU_RETURN_IF_FAILED(bindCurrentDevice());
    bool supported = false;
    if (hipError_t error = earlyStartSupported(supported); error != hipSuccess)
      return error;
    if (!supported)
      return hipModuleLaunchKernel(function, gridX, gridY, gridZ, blockX, blockY, blockZ,
                                   sharedBytes, stream, kernelParams, extra);
    CUlaunchAttribute early{};
    early.id = CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION;
    early.value.programmaticStreamSerializationAllowed = 1;
    const CUlaunchConfig config{gridX,       gridY,      gridZ,  blockX, blockY, blockZ,
                                sharedBytes, cu(stream), &early, 1};
    return fromCu(gDriver->cuLaunchKernelEx(&config, cu(function), kernelParams, extra));
  }

  // Graph capture and replay.
  static hipError_t hipStreamBeginCapture(hipStream_t stream, hipStreamCaptureMode mode) {
    GRETA_CU_RETURN_IF_FAILED(bindCurrentDevice());
    // hipStreamCaptureMode* have CU_STREAM_CAPTURE_MODE_*'s values.
    return fromCu(gDriver->cuStreamBeginCapture(cu(stream), static_cast<CUstreamCaptureMode>(mode)));
  }
  static hipError_t hipStreamEndCapture(hipStream_t stream, hipGraph_t *graph) {
    *graph = nullptr;
    GRETA_CU_RETURN_IF_FAILED(bindCurrentDevice());
    CUgraph captured = nullptr;
    CUresult result = gDriver->cuStreamEndCapture(cu(stream), &captured);
    *graph = reinterpret_cast<hipGraph_t>(captured); // an invalidated capture may still return one
    return fromCu(result);
  }
  static hipError_t hipGraphInstantiate(hipGraphExec_t *exec, hipGraph_t graph,
                                        hipGraphNode_t *errorNode, char *log, size_t logSize) {
    *exec = nullptr;
    if (errorNode)
      *errorNode = nullptr;
    if (log && logSize > 0)
      log[0] = '\0';
    GRETA_CU_RETURN_IF_FAILED(bindCurrentDevice());
    CUgraphExec instantiated = nullptr;
    GRETA_CU_RETURN_IF_FAILED(gDriver->cuGraphInstantiate(&instantiated, cu(graph), /*flags=*/0));
    *exec = reinterpret_cast<hipGraphExec_t>(instantiated);
    return hipSuccess;
  }
  static hipError_t hipGraphLaunch(hipGraphExec_t exec, hipStream_t stream) {
    GRETA_CU_RETURN_IF_FAILED(bindCurrentDevice());
    return fromCu(gDriver->cuGraphLaunch(cu(exec), cu(stream)));
  }
  static hipError_t hipGraphExecDestroy(hipGraphExec_t exec) {
    GRETA_CU_RETURN_IF_FAILED(bindCurrentDevice());
    return fromCu(gDriver->cuGraphExecDestroy(cu(exec)));
  }
  static hipError_t hipGraphDestroy(hipGraph_t graph) {
    GRETA_CU_RETURN_IF_FAILED(bindCurrentDevice());
    return fromCu(gDriver->cuGraphDestroy(cu(graph)));
  }

  // Run-time compilation: NVRTC's result codes have hipRTC's values.
  static hiprtcResult hiprtcVersion(int *major, int *minor) {
    *major = 0;
    *minor = 0;
    return static_cast<hiprtcResult>(gNvrtc->nvrtcVersion(major, minor));
  }
  static const char *hiprtcGetErrorString(hiprtcResult result) {
    return gNvrtc->nvrtcGetErrorString(result);
  }
  static hiprtcResult hiprtcCreateProgram(hiprtcProgram *program, const char *source,
                                          const char *name, int headerCount,
                                          const char *const *headers,
                                          const char *const *includeNames) {
    *program = nullptr;
    nvrtcProgram created = nullptr;
    auto result = static_cast<hiprtcResult>(gNvrtc->nvrtcCreateProgram(
        &created, source, name, headerCount, headers, includeNames));
    *program = reinterpret_cast<hiprtcProgram>(created);
    return result;
  }
  static hiprtcResult hiprtcCompileProgram(hiprtcProgram program, int optionCount,
                                           const char *const *options) {
    return static_cast<hiprtcResult>(gNvrtc->nvrtcCompileProgram(cu(program), optionCount,
                                                                 options));
  }
  static hiprtcResult hiprtcGetProgramLogSize(hiprtcProgram program, size_t *bytes) {
    *bytes = 0;
    return static_cast<hiprtcResult>(gNvrtc->nvrtcGetProgramLogSize(cu(program), bytes));
  }
  static hiprtcResult hiprtcGetProgramLog(hiprtcProgram program, char *log) {
    return static_cast<hiprtcResult>(gNvrtc->nvrtcGetProgramLog(cu(program), log));
  }
  static hiprtcResult hiprtcGetCodeSize(hiprtcProgram program, size_t *bytes) {
    *bytes = 0;
    return static_cast<hiprtcResult>(gNvrtc->nvrtcGetCUBINSize(cu(program), bytes));
  }
  static hiprtcResult hiprtcGetCode(hiprtcProgram program, char *code) {
    return static_cast<hiprtcResult>(gNvrtc->nvrtcGetCUBIN(cu(program), code));
  }
  static hiprtcResult hiprtcDestroyProgram(hiprtcProgram *program) {
    auto handle = reinterpret_cast<nvrtcProgram *>(program);
    return static_cast<hiprtcResult>(gNvrtc->nvrtcDestroyProgram(handle));
  }
};

#undef GRETA_CU_RETURN_IF_FAILED

/// The first folder of `folders` that holds cuda_fp16.h, or "".
std::string findCudaIncludeFolder(const std::vector<std::string> &folders) {
  std::error_code ignored;
  for (const std::string &folder : folders) {
    if (std::filesystem::exists(std::filesystem::path(folder) / "cuda_fp16.h", ignored))
      return folder;
  }
  return {};
}

} // namespace

hipError_t hipErrorFromCudaResult(cuda::CUresult result) {
  switch (result) {
#define GRETA_CUDA_ERROR(cudaName, value, hipName)                                                 \
  case value:                                                                                      \
    return hipName;
#include "runtime/hip/cuda/cuda_errors.def"
#undef GRETA_CUDA_ERROR
  }
  return hipErrorUnknown;
}

HipApi hipOnCudaAdapters() {
  HipApi api;
#define GRETA_HIP_API(ret, name, params) api.name = &HipOnCuda::name;
#define GRETA_HIPRTC_API(ret, name, params) api.name = &HipOnCuda::name;
#include "runtime/hip/hip_api.def"
#undef GRETA_HIP_API
#undef GRETA_HIPRTC_API
  return api;
}

HipProviderLoad loadHipOnCuda() {
  // Loaded libraries are kept for the process's life; failures are retried on the next call.
  static std::mutex mutex;
  static std::optional<LoadedSymbols<CudaDriverSymbols>> driver;
  static std::optional<LoadedSymbols<NvrtcSymbols>> nvrtc;
  static std::vector<std::string> nvrtcOptions;
  std::lock_guard lock(mutex);

  HipProviderLoad load;
  if (!driver) {
    LoadedSymbols<CudaDriverSymbols> attempt = loadCudaDriver(cudaDriverSearch());
    if (attempt.loaded) {
      driver = std::move(attempt);
      gDriver = &driver->symbols;
    } else {
      load.runtimeError = attempt.error;
    }
  }
  if (!nvrtc) {
    LoadedSymbols<NvrtcSymbols> attempt = loadNvrtc(nvrtcSearch());
    if (!attempt.loaded) {
      load.compilerError = attempt.error;
    } else {
      // Kernels include cuda_fp16.h (through the prelude); NVRTC has no built-in copy.
      std::vector<std::string> folders = cudaIncludeCandidates(attempt.path);
      std::string include = findCudaIncludeFolder(folders);
      if (include.empty()) {
        load.compilerError = fmt::format(
            "NVRTC loaded from {}, but CUDA's device headers (cuda_fp16.h) are in none of {} "
            "(set CUDA_HOME to the CUDA toolkit)",
            attempt.path, fmt::join(folders, ", "));
      } else {
        nvrtcOptions = {"-I" + include};
        nvrtc = std::move(attempt);
        gNvrtc = &nvrtc->symbols;
      }
    }
  }

  load.api = hipOnCudaAdapters();
  load.runtimeLoaded = driver.has_value();
  load.compilerLoaded = nvrtc.has_value();
  setUnavailableEntries(load.api, !load.runtimeLoaded, !load.compilerLoaded);
  if (driver)
    load.runtimeLibrary = driver->path;
  if (nvrtc) {
    load.compilerLibrary = nvrtc->path;
    load.compilerSystemOptions = nvrtcOptions;
  }
  return load;
}

} // namespace greta::hip
