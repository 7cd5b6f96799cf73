//===- hip_amd_api.cpp - HipApi over ROCm's HIP and hipRTC ---------------------===//
//
// The AMD provider: ROCm's functions already have hip_api.def's signatures, spelled in ROCm's
// types, so most entries forward through one template that converts each argument to ROCm's
// type (handles by pointer cast, enums by value — their values are checked equal below). Device
// attributes and the architecture name need real code.
//
//===----------------------------------------------------------------------===//
#include "runtime/hip/amd/hip_amd_library.h"
#include "runtime/hip/hip_provider.h"

#include <mutex>
#include <optional>
#include <string>
#include <type_traits>

// GRETA's codes and enums must carry ROCm's values for the forwarding below to be a no-op.
#define GRETA_HIP_ERROR(name, value, description)                                                  \
  static_assert(static_cast<int>(::name) == value, #name " differs from ROCm's value");
#include "runtime/hip/hip_errors.def"
#undef GRETA_HIP_ERROR
static_assert(static_cast<int>(::hipMemcpyHostToHost) == greta::hip::hipMemcpyHostToHost);
static_assert(static_cast<int>(::hipMemcpyHostToDevice) == greta::hip::hipMemcpyHostToDevice);
static_assert(static_cast<int>(::hipMemcpyDeviceToHost) == greta::hip::hipMemcpyDeviceToHost);
static_assert(static_cast<int>(::hipMemcpyDeviceToDevice) == greta::hip::hipMemcpyDeviceToDevice);
static_assert(static_cast<int>(::hipMemcpyDefault) == greta::hip::hipMemcpyDefault);
static_assert(static_cast<int>(::hipStreamCaptureModeGlobal) ==
              greta::hip::hipStreamCaptureModeGlobal);
static_assert(static_cast<int>(::hipStreamCaptureModeThreadLocal) ==
              greta::hip::hipStreamCaptureModeThreadLocal);
static_assert(static_cast<int>(::hipStreamCaptureModeRelaxed) ==
              greta::hip::hipStreamCaptureModeRelaxed);
static_assert(static_cast<int>(::HIPRTC_ERROR_COMPILATION) == greta::hip::HIPRTC_ERROR_COMPILATION);
static_assert(static_cast<int>(::HIPRTC_ERROR_INTERNAL_ERROR) ==
              greta::hip::HIPRTC_ERROR_INTERNAL_ERROR);

namespace greta::hip_amd {
namespace {

const HipAmdSymbols *gAmd = nullptr; // set once, when ROCm loads

/// Converts one argument or result between GRETA's HIP types and ROCm's.
template <typename To, typename From> To bridge(From value) {
  if constexpr (std::is_same_v<To, From>)
    return value;
  else if constexpr (std::is_pointer_v<To>)
    return (To)(value); // handle ↔ handle; `const char *const *` → ROCm's `const char **`
  else
    return static_cast<To>(value); // enums with equal values
}

/// hip_api.def entry `Ours` forwarded to ROCm's function in HipAmdSymbols::*Member.
template <auto Member, typename Ours> struct Forward;
template <auto Member, typename R, typename... Args> struct Forward<Member, R (*)(Args...)> {
  static R call(Args... args) { return invoke(gAmd->*Member, args...); }

  template <typename TheirResult, typename... Theirs>
  static R invoke(TheirResult (*function)(Theirs...), Args... args) {
    static_assert(sizeof...(Theirs) == sizeof...(Args), "ROCm's signature differs from hip_api.def");
    return bridge<R>(function(bridge<Theirs>(args)...));
  }
};

std::optional<::hipDeviceAttribute_t> rocmAttribute(hip::hipDeviceAttribute_t attribute) {
  switch (attribute) {
  case hip::hipDeviceAttributeMaxThreadsPerBlock:
    return ::hipDeviceAttributeMaxThreadsPerBlock;
  case hip::hipDeviceAttributeWarpSize:
    return ::hipDeviceAttributeWarpSize;
  case hip::hipDeviceAttributeMultiprocessorCount:
    return ::hipDeviceAttributeMultiprocessorCount;
  case hip::hipDeviceAttributeMaxSharedMemoryPerBlock:
  case hip::hipDeviceAttributeSharedMemPerBlockOptin: // AMD has no opt-in: all LDS is usable
    return ::hipDeviceAttributeMaxSharedMemoryPerBlock;
  case hip::hipDeviceAttributeComputeCapabilityMajor:
    return ::hipDeviceAttributeComputeCapabilityMajor;
  case hip::hipDeviceAttributeComputeCapabilityMinor:
    return ::hipDeviceAttributeComputeCapabilityMinor;
  case hip::hipDeviceAttributeL2CacheSize:
    return ::hipDeviceAttributeL2CacheSize;
  case hip::hipDeviceAttributeMemoryBusWidth:
    return ::hipDeviceAttributeMemoryBusWidth;
  case hip::hipDeviceAttributeMemoryClockRate:
    return ::hipDeviceAttributeMemoryClockRate;
  case hip::hipDeviceAttributeClockRate:
    return ::hipDeviceAttributeClockRate;
  }
  return std::nullopt;
}

hip::hipError_t deviceGetAttribute(int *value, hip::hipDeviceAttribute_t attribute, int device) {
  *value = 0;
  std::optional<::hipDeviceAttribute_t> rocm = rocmAttribute(attribute);
  if (!rocm)
    return hip::hipErrorInvalidValue;
  return static_cast<hip::hipError_t>(gAmd->hipDeviceGetAttribute(value, *rocm, device));
}

/// "gfx942" from gcnArchName "gfx942:sramecc+:xnack-".
hip::hipError_t deviceGetArchName(char *name, int length, int device) {
  if (length > 0)
    name[0] = '\0';
  ::hipDeviceProp_t properties{};
  if (::hipError_t error = gAmd->hipGetDeviceProperties(&properties, device); error != ::hipSuccess)
    return static_cast<hip::hipError_t>(error);
  std::string arch(properties.gcnArchName);
  arch = arch.substr(0, arch.find(':'));
  if (length <= 0 || arch.size() >= static_cast<size_t>(length))
    return hip::hipErrorInvalidValue;
  arch.copy(name, arch.size());
  name[arch.size()] = '\0';
  return hip::hipSuccess;
}

hip::hipError_t notSupported() { return hip::hipErrorNotSupported; }
template <typename Fn> struct NotSupported;
template <typename R, typename... Args> struct NotSupported<R (*)(Args...)> {
  static R call(Args...) { return notSupported(); }
};

} // namespace
} // namespace greta::hip_amd

namespace greta::hip {

bool hipOnAmdBuilt() { return true; }

HipApi hipOnAmdAdapters() {
  using hip_amd::Forward;
  using hip_amd::HipAmdSymbols;
  HipApi api;
#define GRETA_HIP_API(ret, name, params)                                                           \
  api.name = &Forward<&HipAmdSymbols::name, decltype(api.name)>::call;
#define GRETA_HIP_EXTENSION(ret, name, params)
#define GRETA_HIPRTC_API(ret, name, params) GRETA_HIP_API(ret, name, params)
#include "runtime/hip/hip_api.def"
#undef GRETA_HIP_API
#undef GRETA_HIP_EXTENSION
#undef GRETA_HIPRTC_API
  api.hipDeviceGetAttribute = &hip_amd::deviceGetAttribute;
  api.hipDeviceGetArchName = &hip_amd::deviceGetArchName;
  api.hipModuleLaunchKernelEarly = api.hipModuleLaunchKernel; // no early start on AMD
  // No opt-in on AMD: a block may use all of a CU's LDS (the executor checks the size).
  api.hipModuleFunctionAllowDynamicShared = [](hipFunction_t, int) { return hipSuccess; };
  // LDS is not carved from a cache on AMD: there is no split to prefer.
  api.hipModuleFunctionPreferShared = [](hipFunction_t) { return hipSuccess; };
  return api;
}

HipProviderLoad loadHipOnAmd() {
  static std::mutex mutex;
  static std::optional<hip_amd::HipAmdLibrary> rocm;
  std::lock_guard lock(mutex);

  HipProviderLoad load;
  if (!rocm) {
    hip_amd::HipAmdLibrary attempt = hip_amd::loadHipAmdLibrary();
    if (attempt.loaded) {
      rocm = std::move(attempt);
      hip_amd::gAmd = &rocm->symbols;
    } else {
      load.runtimeError = load.compilerError = attempt.error;
    }
  }
  load.api = hipOnAmdAdapters();
  load.runtimeLoaded = load.compilerLoaded = rocm.has_value();
  setUnavailableEntries(load.api, !load.runtimeLoaded, !load.compilerLoaded);
  if (rocm) {
    load.runtimeLibrary = rocm->runtimePath;
    load.compilerLibrary = rocm->compilerPath;
    // Graph capture is optional in the symbol table (older ROCm): say so instead of crashing.
    const hip_amd::HipAmdSymbols &s = rocm->symbols;
#define GRETA_OPTIONAL_ENTRY(name)                                                                 \
  if (!s.name)                                                                                     \
    load.api.name = &hip_amd::NotSupported<decltype(load.api.name)>::call;
    GRETA_OPTIONAL_ENTRY(hipStreamBeginCapture)
    GRETA_OPTIONAL_ENTRY(hipStreamEndCapture)
    GRETA_OPTIONAL_ENTRY(hipGraphInstantiate)
    GRETA_OPTIONAL_ENTRY(hipGraphLaunch)
    GRETA_OPTIONAL_ENTRY(hipGraphExecDestroy)
    GRETA_OPTIONAL_ENTRY(hipGraphDestroy)
#undef GRETA_OPTIONAL_ENTRY
  }
  return load;
}

} // namespace greta::hip
