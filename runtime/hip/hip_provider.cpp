#include "runtime/hip/hip_provider.h"

#include <type_traits>

namespace greta::hip {
namespace {

/// A stub for an entry whose library did not load: fails without touching anything.
template <typename Fn> struct Unavailable;
template <typename R, typename... Args> struct Unavailable<R (*)(Args...)> {
  static R call(Args...) {
    if constexpr (std::is_same_v<R, hipError_t>)
      return hipErrorNotInitialized;
    else if constexpr (std::is_same_v<R, hiprtcResult>)
      return HIPRTC_ERROR_INTERNAL_ERROR;
    else
      return "the GPU library for this call was not loaded";
  }
};

} // namespace

void setUnavailableEntries(HipApi &api, bool runtime, bool compiler) {
#define GRETA_HIP_API(ret, name, params)                                                           \
  if (runtime)                                                                                     \
    api.name = &Unavailable<decltype(api.name)>::call;
#define GRETA_HIPRTC_API(ret, name, params)                                                        \
  if (compiler)                                                                                    \
    api.name = &Unavailable<decltype(api.name)>::call;
#include "runtime/hip/hip_api.def"
#undef GRETA_HIP_API
#undef GRETA_HIPRTC_API
}

} // namespace greta::hip
