//===- kernel_prelude.h - The device prelude, built into the runtime ----------===//
//
// codegen/prelude/greta_prelude.h, embedded at build time (embed_text.cmake), so the runtime
// needs no source tree at run time. The kernel compiler offers it to hipRTC/NVRTC as an
// in-memory header under kKernelPreludeName.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <string_view>

namespace greta::hip {

inline constexpr std::string_view kKernelPreludeName = "greta_prelude.h";

/// The prelude's text.
std::string_view kernelPreludeSource();

} // namespace greta::hip
