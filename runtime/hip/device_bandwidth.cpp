//===- device_bandwidth.cpp - The GPU's copy bandwidth, measured ------------===//
#include "runtime/hip/device_bandwidth.h"

#include "runtime/hip/hip_resources.h"

#include <fmt/format.h>

#include <algorithm>

namespace greta::hip {

/// Copies are whole MiB: small enough to fit, large enough that launch overhead is noise.
constexpr uint64_t kMiB = uint64_t{1} << 20;

engine::MemoryBandwidth measureDeviceCopyBandwidth(const HipPlatform &platform, uint64_t bytes,
                                                   unsigned repetitions) {
  const HipApi &api = *platform.api;
  GRETA_HIP_CHECK(api, hipSetDevice(platform.device.ordinal));
  size_t freeBytes = 0, totalBytes = 0;
  GRETA_HIP_CHECK(api, hipMemGetInfo(&freeBytes, &totalBytes));
  bytes = std::min<uint64_t>(bytes, freeBytes / 4) / kMiB * kMiB;
  if (bytes == 0 || repetitions == 0)
    fail("{}: bandwidth probe: {} free, too little for a copy of 1 MiB (or no repetitions)",
         platform.device.name, formatBytes(freeBytes));
  const DeviceBuffer source(api, bytes, "bandwidth probe (source)");
  const DeviceBuffer destination(api, bytes, "bandwidth probe (destination)");
  const Stream stream(api);
  const Event start(api), stop(api);
  GRETA_HIP_CHECK(api, hipMemsetAsync(source.data(), 0x5a, bytes, stream.get()));
  auto copy = [&] {
    GRETA_HIP_CHECK(api, hipMemcpyAsync(destination.data(), source.data(), bytes,
                                        hipMemcpyDeviceToDevice, stream.get()));
  };
  copy(); // warm-up
  stream.synchronize();
  double bestMilliseconds = 0;
  for (unsigned r = 0; r < repetitions; ++r) {
    start.record(stream.get());
    copy();
    stop.record(stream.get());
    stop.synchronize();
    const double milliseconds = Event::elapsedMilliseconds(start, stop);
    if (milliseconds > 0 && (bestMilliseconds == 0 || milliseconds < bestMilliseconds))
      bestMilliseconds = milliseconds;
  }
  return {.bytesPerSecond = bestMilliseconds > 0
                                ? 2.0 * static_cast<double>(bytes) / (bestMilliseconds / 1e3)
                                : 0,
          .copyBytes = bytes,
          .repetitions = repetitions,
          .method = fmt::format("device-to-device copy of {} MiB timed with events, read + write "
                                "bytes, best of {}",
                                bytes / kMiB, repetitions)};
}

} // namespace greta::hip
