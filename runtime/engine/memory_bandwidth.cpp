//===- memory_bandwidth.cpp - The CPU's memcpy bandwidth -------------------===//
#include "runtime/engine/memory_bandwidth.h"

#include "runtime/support/error.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <new>
#include <thread>
#include <vector>

namespace greta::engine {

MemoryBandwidth measureHostCopyBandwidth(uint64_t bytes, unsigned threads, unsigned repetitions) {
  if (bytes == 0 || repetitions == 0)
    fail("host bandwidth probe: needs a non-empty copy and at least one repetition");
  if (threads == 0)
    threads = std::max(1u, std::thread::hardware_concurrency());
  std::unique_ptr<uint8_t[]> source(new (std::nothrow) uint8_t[bytes]);
  std::unique_ptr<uint8_t[]> destination(new (std::nothrow) uint8_t[bytes]);
  if (!source || !destination)
    fail("host bandwidth probe: cannot allocate 2 × {} bytes", bytes);
  // Touch every page first, so the timed copies measure memory, not page faults.
  std::memset(source.get(), 0x5a, bytes);
  std::memset(destination.get(), 0, bytes);

  const uint64_t slice = (bytes + threads - 1) / threads;
  auto copyOnce = [&] {
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t) {
      const uint64_t begin = std::min<uint64_t>(bytes, t * slice);
      const uint64_t end = std::min<uint64_t>(bytes, begin + slice);
      if (begin < end)
        pool.emplace_back([&, begin, end] {
          std::memcpy(destination.get() + begin, source.get() + begin, end - begin);
        });
    }
    for (std::thread &thread : pool)
      thread.join();
  };
  copyOnce(); // warm-up
  double best = 0;
  for (unsigned r = 0; r < repetitions; ++r) {
    const auto start = std::chrono::steady_clock::now();
    copyOnce();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (seconds > 0)
      best = std::max(best, 2.0 * static_cast<double>(bytes) / seconds);
  }
  return {.bytesPerSecond = best,
          .copyBytes = bytes,
          .repetitions = repetitions,
          .method =
              fmt::format("host memcpy of {} MiB on {} threads, read + write bytes, best of {}",
                          bytes >> 20, threads, repetitions)};
}

} // namespace greta::engine
