//===- parallel_for.h - Run independent work items on a few threads --------===//
//
// Tensor synthesis splits a tensor into chunks whose contents depend only on their index, so
// any number of threads, in any interleaving, produces the same bytes. This helper hands out the
// indices; the first exception thrown by any item is rethrown on the calling thread.
//
// Thread-safety: `body` runs concurrently on different indices.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <functional>

namespace greta::synth {

/// Calls body(i) for every i in [0, count) on up to `threads` threads (the caller's included).
void parallelFor(uint64_t count, unsigned threads, const std::function<void(uint64_t)> &body);

} // namespace greta::synth
