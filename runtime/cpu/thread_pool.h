//===- thread_pool.h - A fixed set of threads splitting a range ------------===//
//
// Kernels split their output (rows, columns, heads) into contiguous ranges, one per thread. Each
// output element is computed by exactly one thread with the same arithmetic whatever the split,
// so results are bit-identical for any thread count. The threads live as long as the pool, so a
// decode step's few hundred launches pay a wake-up each, not a thread start.
//
// Thread-safety: parallelFor may be called from one thread at a time (the pool's owner).
//
//===----------------------------------------------------------------------===//
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace greta::cpu {

class ThreadPool {
public:
  /// `threads` in total, the calling thread included (0: one per hardware thread).
  explicit ThreadPool(unsigned threads);
  ThreadPool(const ThreadPool &) = delete;
  ThreadPool &operator=(const ThreadPool &) = delete;
  ~ThreadPool();

  unsigned size() const { return static_cast<unsigned>(workers_.size()) + 1; }

  /// Calls body(begin, end) on disjoint ranges covering [0, count), using no more ranges than
  /// threads and none shorter than `minChunk` (except when count itself is). Returns when all
  /// are done; the first exception a range throws is rethrown here.
  void parallelFor(uint64_t count, uint64_t minChunk,
                   const std::function<void(uint64_t, uint64_t)> &body);

private:
  void workerLoop();
  void runChunks();

  std::vector<std::jthread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  uint64_t generation_ = 0;
  bool stopping_ = false;
  // The job being run (guarded by mutex_ except where noted).
  const std::function<void(uint64_t, uint64_t)> *body_ = nullptr;
  uint64_t count_ = 0;
  uint64_t chunks_ = 0;
  uint64_t nextChunk_ = 0;
  uint64_t finishedChunks_ = 0;
  std::exception_ptr error_;
};

/// `threads`, or the hardware thread count when 0 (at least 1).
unsigned resolveThreadCount(unsigned threads);

} // namespace greta::cpu
