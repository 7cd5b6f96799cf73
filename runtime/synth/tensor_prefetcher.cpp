#include "runtime/synth/tensor_prefetcher.h"

#include "runtime/synth/tensor_synth.h"

#include <algorithm>
#include <cstring>

namespace greta::synth {
namespace {

// Spare buffers kept for reuse: as many as can be in flight (ready ones, the one being made, the
// one being copied out), so that steady-state writing allocates nothing.
constexpr size_t kMaxSpareBuffers = 4;

} // namespace

TensorPrefetcher::TensorPrefetcher(const ModelPlan &plan, uint64_t seed, unsigned threads,
                                   size_t lookaheadTensors, uint64_t lookaheadBytes)
    : plan_(plan), seed_(seed), threads_(threads), lookaheadTensors_(lookaheadTensors),
      lookaheadBytes_(lookaheadBytes),
      producer_([this] { produce(); }) {}

TensorPrefetcher::~TensorPrefetcher() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  changed_.notify_all();
  // producer_, the last member, is destroyed (joined) first; a tensor in progress finishes.
}

TensorPrefetcher::Buffer TensorPrefetcher::acquire(uint64_t bytes) {
  Buffer buffer;
  {
    std::lock_guard lock(mutex_);
    // The smallest spare that fits, else the largest (to be replaced by a bigger one).
    auto best = spare_.end();
    for (auto it = spare_.begin(); it != spare_.end(); ++it)
      if (best == spare_.end() ||
          (it->capacity >= bytes && (best->capacity < bytes || it->capacity < best->capacity)) ||
          (best->capacity < bytes && it->capacity > best->capacity))
        best = it;
    if (best != spare_.end()) {
      buffer = std::move(*best);
      spare_.erase(best);
    }
  }
  if (buffer.capacity < bytes) {
    buffer.data = std::make_unique_for_overwrite<uint8_t[]>(bytes);
    buffer.capacity = bytes;
  }
  buffer.size = bytes;
  return buffer;
}

void TensorPrefetcher::recycle(Buffer buffer) {
  std::lock_guard lock(mutex_);
  spare_.push_back(std::move(buffer));
  if (spare_.size() > kMaxSpareBuffers)
    spare_.erase(std::min_element(spare_.begin(), spare_.end(), [](const Buffer &a, const Buffer &b) {
      return a.capacity < b.capacity;
    }));
}

void TensorPrefetcher::produce() {
  for (size_t index = 0; index < plan_.tensors.size(); ++index) {
    const PlannedTensor &tensor = plan_.tensors[index];
    {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [&] {
        return stop_ || ready_.empty() ||
               (ready_.size() < lookaheadTensors_ && readyBytes_ + tensor.bytes <= lookaheadBytes_);
      });
      if (stop_)
        return;
      producing_ = index;
      if (index < consumed_)
        continue; // the writer has moved past it
    }
    Buffer buffer;
    try {
      buffer = acquire(tensor.bytes);
      synthesizeTensor(tensor, seed_, threads_, std::span<uint8_t>(buffer.data.get(), buffer.size));
    } catch (...) {
      std::lock_guard lock(mutex_);
      error_ = std::current_exception();
      stop_ = true;
      changed_.notify_all();
      return;
    }
    {
      std::lock_guard lock(mutex_);
      producing_ = index + 1;
      if (index >= consumed_) {
        readyBytes_ += buffer.size;
        ready_.emplace(index, std::move(buffer));
      }
    }
    changed_.notify_all();
  }
  std::lock_guard lock(mutex_);
  producing_ = plan_.tensors.size();
}

void TensorPrefetcher::take(size_t index, std::span<uint8_t> dst) {
  Buffer buffer;
  {
    std::unique_lock lock(mutex_);
    // Tensors before `index` are not wanted any more (the writer asks in file order): free them
    // so they never hold the producer back.
    for (auto it = ready_.begin(); it != ready_.end() && it->first < index;) {
      readyBytes_ -= it->second.size;
      it = ready_.erase(it);
    }
    // The producer is making this one now, or will make it next: wait for it.
    if (producing_ == index)
      changed_.wait(lock, [&] { return stop_ || producing_ > index; });
    if (error_)
      std::rethrow_exception(error_);
    if (auto it = ready_.find(index); it != ready_.end()) {
      buffer = std::move(it->second);
      readyBytes_ -= buffer.size;
      ready_.erase(it);
    }
    consumed_ = std::max(consumed_, index + 1);
  }
  changed_.notify_all();
  if (buffer.data && buffer.size == dst.size()) {
    std::memcpy(dst.data(), buffer.data.get(), dst.size());
    recycle(std::move(buffer));
    return;
  }
  // Asked out of order or twice: make it here.
  synthesizeTensor(plan_.tensors[index], seed_, threads_, dst);
}

} // namespace greta::synth
