#include "runtime/synth/parallel_for.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace greta::synth {

void parallelFor(uint64_t count, unsigned threads, const std::function<void(uint64_t)> &body) {
  std::atomic<uint64_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr firstError;
  std::mutex errorMutex;
  auto worker = [&] {
    for (uint64_t i = next++; i < count && !failed; i = next++) {
      try {
        body(i);
      } catch (...) {
        std::lock_guard lock(errorMutex);
        if (!firstError)
          firstError = std::current_exception();
        failed = true;
      }
    }
  };
  const uint64_t helpers = std::min<uint64_t>(std::max(threads, 1u), count) - (count > 0);
  std::vector<std::jthread> pool;
  pool.reserve(helpers);
  for (uint64_t t = 0; t < helpers; ++t)
    pool.emplace_back(worker);
  worker();
  pool.clear(); // joins
  if (firstError)
    std::rethrow_exception(firstError);
}

} // namespace greta::synth
