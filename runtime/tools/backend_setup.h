//===- backend_setup.h - --device for the tools: which executor runs a bundle ===//
//
// greta-run and greta-bench pick their backend the same way: openBackend() turns --device into
// a choice before the bundle is opened (printing auto's one-line notice when it falls back to
// the CPU), and executorFor() gives the Session's executor factory for the opened bundle — the
// HIP executor when the GPU was chosen and the bundle carries HIP kernels, else null (the CPU).
// Under --device=auto a bundle without HIP kernels runs on the CPU with a notice; under hip it
// is an error. Built into each tool, with GRETA_HAVE_HIP when the HIP backend is built.
//
// Thread-safety: call from the main thread, once per tool run.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/bundle/bundle.h"
#include "runtime/engine/executor.h"
#ifdef GRETA_HAVE_HIP
#include "runtime/hip/device_selection.h"
#endif

#include <optional>
#include <string>

namespace greta::tools {

struct Backend {
  std::string request; ///< --device as given: auto, cpu, hip, hip:amd, hip:nvidia
#ifdef GRETA_HAVE_HIP
  std::optional<hip::HipPlatform> gpu{}; ///< set when a GPU was opened
#endif
};

/// Opens the backend --device asks for. Throws greta::Error for an unknown value, for hip when
/// no GPU is usable, and for hip in a build without the HIP backend.
Backend openBackend(const std::string &device);

/// What the executor does beyond running the plans.
struct ExecutorSettings {
  /// HIP: time every launch from the start and print the table on stderr at exit.
  bool printProfileAtExit = false;
  /// HIP: kernels that allow it may start before the launch ahead of them finishes.
  bool earlyStart = true;
  /// HIP: prefill's weight decodes run on a second stream beside the products.
  bool sideStream = true;
};

/// The executor factory for `bundle` on `backend` (null: the CPU).
engine::ExecutorFactory executorFor(const Backend &backend, const bundle::Bundle &bundle,
                                    const ExecutorSettings &settings = {});

} // namespace greta::tools
