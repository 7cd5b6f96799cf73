//===- memory_bandwidth.h - The memory bandwidth a device actually reaches ---===//
//
// The decode floor is bytes of weights per token over the memory bandwidth; greta-bench measures
// that bandwidth on the device it runs on rather than quoting a datasheet. The measure is a large
// copy, timed at its best of a few repetitions after a warm-up, counting the bytes read plus the
// bytes written (2 × the copy's size), as CUDA's bandwidthTest does for device-to-device copies.
// The GPU's copy lives in runtime/hip/device_bandwidth.h; the CPU's is here.
//
// Thread-safety: the measurement functions may be called from any thread; they start their own.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <string>

namespace greta::engine {

struct MemoryBandwidth {
  double bytesPerSecond = 0; ///< bytes read + written per second, best repetition
  uint64_t copyBytes = 0;    ///< size of one copy
  unsigned repetitions = 0;  ///< timed copies (after one warm-up)
  std::string method;        ///< one line: how it was measured
};

/// Copies `bytes` between two host buffers, split over `threads` threads (0: hardware threads),
/// `repetitions` times after a warm-up. Throws greta::Error when the buffers cannot be allocated.
MemoryBandwidth measureHostCopyBandwidth(uint64_t bytes, unsigned threads, unsigned repetitions);

} // namespace greta::engine
