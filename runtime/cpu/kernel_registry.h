//===- kernel_registry.h - Which CPU code runs each kernel family ----------===//
//
// The CPU backend's answer to "is this family supported" and "what runs it" comes from one
// table, so the two cannot disagree. A test checks that it covers every family of
// kernel_families.h.
//
// Thread-safety: immutable table.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/cpu/cpu_kernel.h"

#include <string_view>

namespace greta::cpu {

/// The factory of `family`, or null when the CPU backend does not run it.
CpuLaunchFactory findCpuFactory(std::string_view family);

} // namespace greta::cpu
