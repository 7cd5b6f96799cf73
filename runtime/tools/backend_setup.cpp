//===- backend_setup.cpp - --device for the tools ---------------------------===//
#include "runtime/tools/backend_setup.h"

#include "runtime/support/error.h"
#ifdef GRETA_HAVE_HIP
#include "runtime/hip/hip_executor.h"
#endif

#include <cstdio>

namespace greta::tools {

Backend openBackend(const std::string &device) {
  Backend backend{.request = device};
#ifdef GRETA_HAVE_HIP
  // auto: the GPU when one is usable, else the CPU with a one-line notice; hip: a GPU or an error.
  hip::DeviceChoice choice = hip::selectDevice(hip::parseDeviceRequest(device));
  if (!choice.notice.empty())
    std::fprintf(stderr, "%s\n", choice.notice.c_str());
  if (choice.backend == hip::DeviceKind::Hip)
    backend.gpu = std::move(choice.hip);
#else
  if (device.starts_with("hip"))
    fail("--device={}: this tool was built without the HIP backend (GRETA_BUILD_HIP=OFF)", device);
#endif
  return backend;
}

engine::ExecutorFactory executorFor(const Backend &backend, const bundle::Bundle &bundle,
                                    const ExecutorSettings &settings) {
#ifdef GRETA_HAVE_HIP
  if (!backend.gpu)
    return nullptr;
  // A bundle without emitted HIP kernels (not from greta-compile) runs on the CPU under auto.
  if (const std::string why = hip::hipUnsupportedReason(bundle); !why.empty()) {
    if (backend.request != "auto")
      fail("--device={}: {} cannot run on the GPU: {}", backend.request, bundle.dir(), why);
    std::fprintf(stderr, "greta: %s cannot run on the GPU, running on the CPU: %s\n",
                 bundle.dir().c_str(), why.c_str());
    return nullptr;
  }
  return hip::hipExecutorFactory(
      *backend.gpu, {.sideStream = settings.sideStream,
                     .earlyStart = settings.earlyStart,
                     .profile = settings.printProfileAtExit});
#else
  (void)backend;
  (void)bundle;
  (void)settings;
  return nullptr;
#endif
}

} // namespace greta::tools
