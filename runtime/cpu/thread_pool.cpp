//===- thread_pool.cpp - A fixed set of threads splitting a range ----------===//
#include "runtime/cpu/thread_pool.h"

#include <algorithm>
#include <utility>

namespace greta::cpu {

unsigned resolveThreadCount(unsigned threads) {
  return threads != 0 ? threads : std::max(1u, std::thread::hardware_concurrency());
}

ThreadPool::ThreadPool(unsigned threads) {
  const unsigned total = resolveThreadCount(threads);
  for (unsigned i = 1; i < total; ++i)
    workers_.emplace_back([this] { workerLoop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  workers_.clear(); // joins
}

void ThreadPool::parallelFor(uint64_t count, uint64_t minChunk,
                             const std::function<void(uint64_t, uint64_t)> &body) {
  if (count == 0)
    return;
  const uint64_t grain = std::max<uint64_t>(minChunk, 1);
  const uint64_t byGrain = (count + grain - 1) / grain;
  const uint64_t chunks = std::min<uint64_t>(size(), byGrain);
  if (chunks <= 1) {
    body(0, count);
    return;
  }
  {
    std::lock_guard lock(mutex_);
    body_ = &body;
    count_ = count;
    chunks_ = chunks;
    nextChunk_ = 0;
    finishedChunks_ = 0;
    error_ = nullptr;
    ++generation_;
  }
  wake_.notify_all();
  runChunks();
  std::unique_lock lock(mutex_);
  done_.wait(lock, [&] { return finishedChunks_ == chunks_; });
  body_ = nullptr;
  if (error_)
    std::rethrow_exception(std::exchange(error_, nullptr));
}

void ThreadPool::runChunks() {
  for (;;) {
    uint64_t chunk, begin, end;
    const std::function<void(uint64_t, uint64_t)> *body;
    {
      std::lock_guard lock(mutex_);
      if (body_ == nullptr || nextChunk_ >= chunks_)
        return;
      chunk = nextChunk_++;
      begin = count_ * chunk / chunks_;
      end = count_ * (chunk + 1) / chunks_;
      body = body_;
    }
    std::exception_ptr error;
    try {
      (*body)(begin, end);
    } catch (...) {
      error = std::current_exception();
    }
    bool last;
    {
      std::lock_guard lock(mutex_);
      if (error && !error_)
        error_ = error;
      last = ++finishedChunks_ == chunks_;
    }
    if (last)
      done_.notify_all();
  }
}

void ThreadPool::workerLoop() {
  uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_)
        return;
      seen = generation_;
    }
    runChunks();
  }
}

} // namespace greta::cpu
