#include "runtime/hip/hip_api.h"

#include <fmt/format.h>

namespace greta::hip {
namespace {

/// `file` from the source root on ("runtime/hip/x.cpp"), not the build machine's absolute path.
std::string_view sourceRelative(std::string_view file) {
  for (std::string_view root : {"/runtime/", "/test/", "/codegen/"}) {
    if (size_t at = file.rfind(root); at != std::string_view::npos)
      return file.substr(at + 1);
  }
  return file;
}

/// "hipMalloc" from "hipMalloc(&pointer, bytes)".
std::string entryName(std::string_view callText) {
  return std::string(callText.substr(0, callText.find('(')));
}

std::string nameFromApi(const HipApi &api, hipError_t code) {
  const char *name = api.hipGetErrorName ? api.hipGetErrorName(code) : nullptr;
  return name ? std::string(name) : hipErrorName(code);
}


} // namespace

std::vector<std::string_view> missingHipApiEntries(const HipApi &api) {
  std::vector<std::string_view> missing;
#define GRETA_HIP_API(ret, name, params)                                                           \
  if (!api.name)                                                                                   \
    missing.emplace_back(#name);
#define GRETA_HIPRTC_API(ret, name, params) GRETA_HIP_API(ret, name, params)
#include "runtime/hip/hip_api.def"
#undef GRETA_HIP_API
#undef GRETA_HIPRTC_API
  return missing;
}

std::string hipErrorName(hipError_t code) {
  switch (code) {
#define GRETA_HIP_ERROR(name, value, description)                                                  \
  case name:                                                                                       \
    return #name;
#include "runtime/hip/hip_errors.def"
#undef GRETA_HIP_ERROR
  }
  return fmt::format("hipError({})", static_cast<int>(code));
}

const char *hipErrorDescription(hipError_t code) {
  switch (code) {
#define GRETA_HIP_ERROR(name, value, description)                                                  \
  case name:                                                                                       \
    return description;
#include "runtime/hip/hip_errors.def"
#undef GRETA_HIP_ERROR
  }
  return "unrecognised HIP error";
}

std::string describeHipError(const HipApi &api, hipError_t code) {
  std::string name = nameFromApi(api, code);
  const char *text = api.hipGetErrorString ? api.hipGetErrorString(code) : nullptr;
  // Some ROCm releases return the name again as the "string"; ours says more.
  std::string description = text && name != text ? std::string(text) : hipErrorDescription(code);
  return fmt::format("{}: {}", name, description);
}

void throwHipError(const HipApi &api, hipError_t code, const char *callText, const char *file,
                   int line) {
  throw HipError(fmt::format("{} failed at {}:{}: {}", callText, sourceRelative(file), line,
                             describeHipError(api, code)),
                 code, entryName(callText), /*fromRtc=*/false);
}

void throwHipError(const HipApi &api, hiprtcResult code, const char *callText, const char *file,
                   int line) {
  const char *text = api.hiprtcGetErrorString ? api.hiprtcGetErrorString(code) : nullptr;
  throw HipError(fmt::format("{} failed at {}:{}: {}", callText, sourceRelative(file), line,
                             text ? text : fmt::format("hiprtcResult {}", static_cast<int>(code))),
                 code, entryName(callText), /*fromRtc=*/true);
}

} // namespace greta::hip
