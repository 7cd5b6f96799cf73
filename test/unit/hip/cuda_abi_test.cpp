// Checks, at compile time, the HIP-on-CUDA layer's own declarations of the CUDA driver API and
// NVRTC against the real cuda.h and nvrtc.h: every signature in cuda_symbols.def, the exported
// (versioned) symbol each name maps to, every error code in cuda_errors.def and every constant
// in cuda_driver_types.h. Built only where CUDA's headers are installed.

#include <cuda.h>
#include <nvrtc.h>

#include "runtime/hip/cuda/cuda_driver_types.h"
#include "runtime/hip/hip_api.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <string_view>
#include <type_traits>

namespace {

#define GRETA_STRINGIFY(x) #x
/// The symbol cuda.h's #defines turn `name` into: "cuMemAlloc_v2" for cuMemAlloc.
#define GRETA_EXPORTED_NAME(name) GRETA_STRINGIFY(name)

constexpr std::string_view firstSymbol(std::string_view symbols) {
  return symbols.substr(0, symbols.find('|'));
}

// Expanded at namespace scope outside greta::cuda, the .def's type names resolve to cuda.h's.
#define GRETA_CUDA_DRIVER_API(name, symbols, params)                                               \
  static_assert(std::is_same_v<decltype(&::name), CUresult(CUDAAPI *) params>,                     \
                #name ": signature differs from cuda.h");                                          \
  static_assert(firstSymbol(symbols) == GRETA_EXPORTED_NAME(name),                                 \
                #name ": exported symbol differs from the one cuda.h maps it to");
#define GRETA_NVRTC_API(ret, name, symbols, params)                                                \
  static_assert(std::is_same_v<decltype(&::name), ret(*) params>,                                  \
                #name ": signature differs from nvrtc.h");                                         \
  static_assert(firstSymbol(symbols) == #name, #name ": exported symbol");
#include "runtime/hip/cuda/cuda_symbols.def"
#undef GRETA_CUDA_DRIVER_API
#undef GRETA_NVRTC_API

#define GRETA_CUDA_ERROR(cudaName, value, hipName)                                                 \
  static_assert(static_cast<int>(::cudaName) == value, #cudaName " differs from cuda.h");
#include "runtime/hip/cuda/cuda_errors.def"
#undef GRETA_CUDA_ERROR

namespace ours = greta::cuda;
static_assert(std::is_same_v<ours::CUdeviceptr, ::CUdeviceptr>);
static_assert(std::is_same_v<ours::CUdevice, ::CUdevice>);
static_assert(sizeof(ours::CUresult) == sizeof(::CUresult));
static_assert(sizeof(ours::CUdevice_attribute) == sizeof(::CUdevice_attribute));
static_assert(sizeof(ours::CUstreamCaptureMode) == sizeof(::CUstreamCaptureMode));
static_assert(sizeof(ours::CUfunction_attribute) == sizeof(::CUfunction_attribute));
static_assert(sizeof(ours::nvrtcResult) == sizeof(::nvrtcResult));
#define GRETA_SAME_VALUE(constant)                                                                 \
  static_assert(static_cast<long long>(ours::constant) == static_cast<long long>(::constant),      \
                #constant);
GRETA_SAME_VALUE(CUDA_SUCCESS)
GRETA_SAME_VALUE(CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES)
GRETA_SAME_VALUE(CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT)
GRETA_SAME_VALUE(CU_SHAREDMEM_CARVEOUT_MAX_SHARED)
GRETA_SAME_VALUE(CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK)
GRETA_SAME_VALUE(CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK)
GRETA_SAME_VALUE(CU_DEVICE_ATTRIBUTE_WARP_SIZE)
GRETA_SAME_VALUE(CU_DEVICE_ATTRIBUTE_CLOCK_RATE)
GRETA_SAME_VALUE(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT)
GRETA_SAME_VALUE(CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE)
GRETA_SAME_VALUE(CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH)
GRETA_SAME_VALUE(CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE)
GRETA_SAME_VALUE(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR)
GRETA_SAME_VALUE(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR)
GRETA_SAME_VALUE(CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN)
GRETA_SAME_VALUE(CU_STREAM_DEFAULT)
GRETA_SAME_VALUE(CU_EVENT_DEFAULT)
GRETA_SAME_VALUE(CU_STREAM_CAPTURE_MODE_GLOBAL)
GRETA_SAME_VALUE(CU_STREAM_CAPTURE_MODE_THREAD_LOCAL)
GRETA_SAME_VALUE(CU_STREAM_CAPTURE_MODE_RELAXED)
GRETA_SAME_VALUE(CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION)
// hipHostMalloc's flags (Portable 1, Mapped 2, WriteCombined 4) are passed to the driver as is.
static_assert(CU_MEMHOSTALLOC_PORTABLE == 1 && CU_MEMHOSTALLOC_DEVICEMAP == 2 &&
              CU_MEMHOSTALLOC_WRITECOMBINED == 4);
#undef GRETA_SAME_VALUE

// cuLaunchKernelEx's structures: the same size, and every member GRETA sets at cuda.h's offset.
#define GRETA_SAME_OFFSET(type, member)                                                            \
  static_assert(offsetof(ours::type, member) == offsetof(::type, member), #type "." #member);
static_assert(sizeof(ours::CUlaunchAttributeID) == sizeof(::CUlaunchAttributeID));
static_assert(sizeof(ours::CUlaunchAttribute) == sizeof(::CUlaunchAttribute) &&
              alignof(ours::CUlaunchAttribute) == alignof(::CUlaunchAttribute));
GRETA_SAME_OFFSET(CUlaunchAttribute, id)
GRETA_SAME_OFFSET(CUlaunchAttribute, value)
GRETA_SAME_OFFSET(CUlaunchAttribute, value.programmaticStreamSerializationAllowed)
static_assert(sizeof(ours::CUlaunchConfig) == sizeof(::CUlaunchConfig));
GRETA_SAME_OFFSET(CUlaunchConfig, gridDimX)
GRETA_SAME_OFFSET(CUlaunchConfig, gridDimY)
GRETA_SAME_OFFSET(CUlaunchConfig, gridDimZ)
GRETA_SAME_OFFSET(CUlaunchConfig, blockDimX)
GRETA_SAME_OFFSET(CUlaunchConfig, blockDimY)
GRETA_SAME_OFFSET(CUlaunchConfig, blockDimZ)
GRETA_SAME_OFFSET(CUlaunchConfig, sharedMemBytes)
GRETA_SAME_OFFSET(CUlaunchConfig, hStream)
GRETA_SAME_OFFSET(CUlaunchConfig, attrs)
GRETA_SAME_OFFSET(CUlaunchConfig, numAttrs)
#undef GRETA_SAME_OFFSET

// HIP's enums are forwarded to CUDA by value.
#define GRETA_SAME_ENUM(hip, cuda) static_assert(static_cast<int>(hip) == static_cast<int>(cuda), #hip);
GRETA_SAME_ENUM(greta::hip::hipStreamCaptureModeGlobal, ::CU_STREAM_CAPTURE_MODE_GLOBAL)
GRETA_SAME_ENUM(greta::hip::hipStreamCaptureModeThreadLocal, ::CU_STREAM_CAPTURE_MODE_THREAD_LOCAL)
GRETA_SAME_ENUM(greta::hip::hipStreamCaptureModeRelaxed, ::CU_STREAM_CAPTURE_MODE_RELAXED)
GRETA_SAME_ENUM(greta::hip::HIPRTC_SUCCESS, ::NVRTC_SUCCESS)
GRETA_SAME_ENUM(greta::hip::HIPRTC_ERROR_OUT_OF_MEMORY, ::NVRTC_ERROR_OUT_OF_MEMORY)
GRETA_SAME_ENUM(greta::hip::HIPRTC_ERROR_PROGRAM_CREATION_FAILURE, ::NVRTC_ERROR_PROGRAM_CREATION_FAILURE)
GRETA_SAME_ENUM(greta::hip::HIPRTC_ERROR_INVALID_INPUT, ::NVRTC_ERROR_INVALID_INPUT)
GRETA_SAME_ENUM(greta::hip::HIPRTC_ERROR_INVALID_PROGRAM, ::NVRTC_ERROR_INVALID_PROGRAM)
GRETA_SAME_ENUM(greta::hip::HIPRTC_ERROR_INVALID_OPTION, ::NVRTC_ERROR_INVALID_OPTION)
GRETA_SAME_ENUM(greta::hip::HIPRTC_ERROR_COMPILATION, ::NVRTC_ERROR_COMPILATION)
GRETA_SAME_ENUM(greta::hip::HIPRTC_ERROR_BUILTIN_OPERATION_FAILURE, ::NVRTC_ERROR_BUILTIN_OPERATION_FAILURE)
GRETA_SAME_ENUM(greta::hip::HIPRTC_ERROR_INTERNAL_ERROR, ::NVRTC_ERROR_INTERNAL_ERROR)
#undef GRETA_SAME_ENUM

// Tests nothing at run time: this file passes by compiling. Records which headers it checked.
TEST(CudaAbi, DeclarationsMatchInstalledHeaders) {
  RecordProperty("CUDA_VERSION", CUDA_VERSION);
  SUCCEED();
}

} // namespace
