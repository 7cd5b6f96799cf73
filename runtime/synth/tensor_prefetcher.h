//===- tensor_prefetcher.h - Make tensors ahead of the file writer ---------===//
//
// GgufWriter asks for each tensor's bytes in file order and writes them before asking for the
// next. To keep the disk busy the whole time, a producer thread makes the following tensors
// (each on `threads` threads) while the writer writes the current one, holding at most
// `lookaheadTensors` finished tensors and `lookaheadBytes` (but always at least one). Buffers are
// recycled, so steady-state writing touches no fresh memory. take() hands a finished tensor to
// the writer; a tensor asked for out of order, or twice, is simply made again on the spot — the
// bytes are a pure function of (seed, plan), so both routes give the same result.
//
// Thread-safety: take() may be called from one thread at a time. The destructor stops and joins
// the producer, also when the writer gave up half-way.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/synth/model_plan.h"

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

namespace greta::synth {

class TensorPrefetcher {
public:
  TensorPrefetcher(const ModelPlan &plan, uint64_t seed, unsigned threads,
                   size_t lookaheadTensors, uint64_t lookaheadBytes);
  ~TensorPrefetcher();
  TensorPrefetcher(const TensorPrefetcher &) = delete;
  TensorPrefetcher &operator=(const TensorPrefetcher &) = delete;

  /// Fills `dst` with tensor `index` of the plan.
  void take(size_t index, std::span<uint8_t> dst);

private:
  /// Uninitialised bytes: tensors are overwritten whole, so zero-filling would be wasted work.
  struct Buffer {
    std::unique_ptr<uint8_t[]> data;
    uint64_t capacity = 0;
    uint64_t size = 0;
  };

  void produce();
  /// A spare buffer of at least `bytes` (reused: fresh pages cost a page fault each).
  Buffer acquire(uint64_t bytes);
  void recycle(Buffer buffer);

  const ModelPlan &plan_;
  uint64_t seed_;
  unsigned threads_;
  size_t lookaheadTensors_;
  uint64_t lookaheadBytes_;

  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<size_t, Buffer> ready_; ///< finished, not yet taken
  std::vector<Buffer> spare_;      ///< taken buffers kept for reuse
  uint64_t readyBytes_ = 0;
  size_t producing_ = 0;   ///< index the producer works on now, or next
  size_t consumed_ = 0;    ///< tensors below this index are no longer wanted from the producer
  bool stop_ = false;
  std::exception_ptr error_;
  std::jthread producer_;  ///< last member: starts after everything above is initialised
};

} // namespace greta::synth
