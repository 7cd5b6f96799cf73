//===- device_bandwidth.h - The GPU's copy bandwidth, measured --------------===//
//
// The GPU side of engine/memory_bandwidth.h: a device-to-device copy of up to `bytes` (at most a
// quarter of the memory free, so it runs beside a loaded model) timed with events on its own
// stream, best of `repetitions` after a warm-up, counting bytes read + written.
//
// Thread-safety: makes the platform's device current on the calling thread.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/engine/memory_bandwidth.h"
#include "runtime/hip/hip_platform.h"

#include <cstdint>

namespace greta::hip {

/// Throws greta::hip::HipError for a failed call, greta::Error when under 1 MiB is free.
engine::MemoryBandwidth measureDeviceCopyBandwidth(const HipPlatform &platform,
                                                   uint64_t bytes = uint64_t{1} << 30,
                                                   unsigned repetitions = 5);

} // namespace greta::hip
