//===- stream_schedule.h - Which launches of a plan may run beside the others ------===//
//
// A prefill plan decodes each weight matrix to binary16 (dequant_f16) right before the product
// that reads it. The decodes read nothing a launch of the phase wrote: they are bound by memory
// bandwidth while the products beside them are bound by the matrix units, so the HIP executor
// runs them on a second ("side") stream and each product waits only for its own decode. This
// file decides the streams and the waits from the launches' buffer accesses alone; the executor
// turns them into events.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <vector>

namespace greta::hip {

/// The buffers one launch reads and writes (any ids; a read-write buffer is in both). Weights
/// are not buffers: nothing in a phase writes them.
struct LaunchAccess {
  std::vector<size_t> reads;
  std::vector<size_t> writes;
};

/// Where one launch runs and what it waits for.
struct StreamStep {
  /// On the side stream: the launch reads no buffer (only weights) and writes some.
  bool side = false;
  /// The latest launch of the other stream this one must follow (a read after its write, or a
  /// write after its read or write); earlier launches of that stream finished before it did.
  std::optional<size_t> waitFor;
  /// A later launch of the other stream waits for this one (record an event after it).
  bool signals = false;
};

/// The two-stream schedule of `launches`, in plan order. Launches of one stream keep their plan
/// order; every read-after-write, write-after-read and write-after-write between the streams
/// becomes a wait. The side stream must also wait for the main stream's work before the phase,
/// and the main stream for the side stream's last launch after it (the executor's joins).
std::vector<StreamStep> scheduleTwoStreams(std::span<const LaunchAccess> launches);

} // namespace greta::hip
