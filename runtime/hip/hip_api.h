//===- hip_api.h - The HIP subset GRETA calls, as a function table ---------===//
//
// The HIP backend is written against HIP, but never against a HIP header or library at build
// time: it calls through `HipApi`, a table of function pointers with HIP's names and signatures
// (hip_api.def), spelled in the GRETA-owned types below. One binary serves AMD and NVIDIA; the
// platform is picked at run time (hip_platform.h), whose provider fills the table — ROCm's HIP
// and hipRTC on AMD, the project's HIP-on-CUDA layer (CUDA driver API + NVRTC) on NVIDIA.
//
// The types mirror HIP's ABI: error codes are int-sized with HIP's values, handles are opaque
// pointers, device pointers are void*. Attribute values are GRETA's own (each provider maps them).
//
// Every call goes through GRETA_HIP_CHECK, which turns a failure into a greta::hip::HipError
// naming the call, the source line, the error name and its description.
//
// Thread-safety: a filled HipApi is immutable and may be shared by all threads; what each entry
// may do concurrently is HIP's rule for that call.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/support/error.h"

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace greta::hip {

/// HIP error codes (hip_errors.def). Unlisted values can still occur and are kept as is.
enum hipError_t : int {
#define GRETA_HIP_ERROR(name, value, description) name = value,
#include "runtime/hip/hip_errors.def"
#undef GRETA_HIP_ERROR
};

/// hipRTC result codes; NVRTC uses the same values for the same meanings.
enum hiprtcResult : int {
  HIPRTC_SUCCESS = 0,
  HIPRTC_ERROR_OUT_OF_MEMORY = 1,
  HIPRTC_ERROR_PROGRAM_CREATION_FAILURE = 2,
  HIPRTC_ERROR_INVALID_INPUT = 3,
  HIPRTC_ERROR_INVALID_PROGRAM = 4,
  HIPRTC_ERROR_INVALID_OPTION = 5,
  HIPRTC_ERROR_COMPILATION = 6,
  HIPRTC_ERROR_BUILTIN_OPERATION_FAILURE = 7,
  HIPRTC_ERROR_INTERNAL_ERROR = 11,
};

enum hipMemcpyKind : int {
  hipMemcpyHostToHost = 0,
  hipMemcpyHostToDevice = 1,
  hipMemcpyDeviceToHost = 2,
  hipMemcpyDeviceToDevice = 3,
  hipMemcpyDefault = 4, ///< inferred from the pointers (unified addressing)
};

enum hipStreamCaptureMode : int {
  hipStreamCaptureModeGlobal = 0,
  hipStreamCaptureModeThreadLocal = 1,
  hipStreamCaptureModeRelaxed = 2,
};

/// The device attributes GRETA reads. Values are GRETA's; providers map them to their own.
enum hipDeviceAttribute_t : int {
  hipDeviceAttributeMaxThreadsPerBlock,
  hipDeviceAttributeWarpSize,
  hipDeviceAttributeMultiprocessorCount,
  hipDeviceAttributeMaxSharedMemoryPerBlock,
  hipDeviceAttributeSharedMemPerBlockOptin, ///< AMD: same as MaxSharedMemoryPerBlock
  hipDeviceAttributeComputeCapabilityMajor,
  hipDeviceAttributeComputeCapabilityMinor,
  hipDeviceAttributeL2CacheSize,
  hipDeviceAttributeMemoryBusWidth,  ///< bits
  hipDeviceAttributeMemoryClockRate, ///< kHz
  hipDeviceAttributeClockRate,       ///< kHz
};

// Opaque handles. Distinct from ROCm's types of the same names (those live in the global
// namespace); an adapter converts between them.
struct ihipStream_t;
struct ihipEvent_t;
struct ihipModule_t;
struct ihipModuleSymbol_t;
struct ihipGraph;
struct hipGraphExec;
struct hipGraphNode;
struct ihiprtcProgram;
using hipStream_t = ihipStream_t *;
using hipEvent_t = ihipEvent_t *;
using hipModule_t = ihipModule_t *;
using hipFunction_t = ihipModuleSymbol_t *;
using hipGraph_t = ihipGraph *;
using hipGraphExec_t = hipGraphExec *;
using hipGraphNode_t = hipGraphNode *;
using hiprtcProgram = ihiprtcProgram *;

/// The HIP entry points of hip_api.def, as function pointers with HIP's names, so call sites
/// read like HIP: `GRETA_HIP_CHECK(api, hipMalloc(&pointer, bytes))`.
struct HipApi {
#define GRETA_HIP_API(ret, name, params) ret(*name) params = nullptr;
#define GRETA_HIPRTC_API(ret, name, params) ret(*name) params = nullptr;
#include "runtime/hip/hip_api.def"
#undef GRETA_HIP_API
#undef GRETA_HIPRTC_API
};

/// Names of every entry of hip_api.def, in order.
inline constexpr std::array kHipApiEntryNames = {
#define GRETA_HIP_API(ret, name, params) std::string_view(#name),
#define GRETA_HIPRTC_API(ret, name, params) std::string_view(#name),
#include "runtime/hip/hip_api.def"
#undef GRETA_HIP_API
#undef GRETA_HIPRTC_API
};

/// Names of the entries of `api` that are still null (a provider left them out).
std::vector<std::string_view> missingHipApiEntries(const HipApi &api);

/// "hipErrorOutOfMemory"; "hipError(1234)" for a code hip_errors.def does not list.
std::string hipErrorName(hipError_t code);
/// "out of memory"; "unrecognised HIP error" for unlisted codes. A string literal.
const char *hipErrorDescription(hipError_t code);

/// "hipErrorOutOfMemory: out of memory", from the platform's own name and text where it has
/// them (the NVIDIA layer adds the CUDA driver's result), else from hip_errors.def.
std::string describeHipError(const HipApi &api, hipError_t code);

/// A failed HIP or hipRTC call: the message names the call, where it was made, the error name
/// and its description, e.g. "hipMalloc(&pointer, bytes) failed at runtime/hip/hip_resources.cpp:40:
/// hipErrorOutOfMemory: out of memory".
class HipError : public Error {
public:
  HipError(const std::string &message, int code, std::string call, bool fromRtc)
      : Error(message), code_(code), call_(std::move(call)), fromRtc_(fromRtc) {}
  /// The hipError_t (or, when fromRtc(), hiprtcResult) the call returned.
  int code() const { return code_; }
  /// The entry's name, e.g. "hipMalloc".
  const std::string &call() const { return call_; }
  bool fromRtc() const { return fromRtc_; }
  bool isOutOfMemory() const { return !fromRtc_ && code_ == hipErrorOutOfMemory; }

private:
  int code_;
  std::string call_;
  bool fromRtc_;
};

[[noreturn]] void throwHipError(const HipApi &api, hipError_t code, const char *callText,
                                const char *file, int line);
[[noreturn]] void throwHipError(const HipApi &api, hiprtcResult code, const char *callText,
                                const char *file, int line);

inline void checkHipCall(const HipApi &api, hipError_t code, const char *callText,
                         const char *file, int line) {
  if (code != hipSuccess) [[unlikely]]
    throwHipError(api, code, callText, file, line);
}
inline void checkHipCall(const HipApi &api, hiprtcResult code, const char *callText,
                         const char *file, int line) {
  if (code != HIPRTC_SUCCESS) [[unlikely]]
    throwHipError(api, code, callText, file, line);
}

} // namespace greta::hip

/// Calls `api.call` and throws greta::hip::HipError if it does not succeed. `call` is written as
/// at a HIP call site, without the table: GRETA_HIP_CHECK(api, hipStreamSynchronize(stream)).
#define GRETA_HIP_CHECK(api, call)                                                                 \
  ::greta::hip::checkHipCall((api), (api).call, #call, __FILE__, __LINE__)
