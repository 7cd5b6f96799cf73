//===- stream_schedule.cpp - Which launches of a plan may run beside the others ------===//
#include "runtime/hip/stream_schedule.h"

#include <algorithm>
#include <map>

namespace greta::hip {
namespace {

/// One launch's access to a buffer: which launch, on which stream.
struct Access {
  size_t launch = 0;
  bool side = false;
};

/// The accesses that order a buffer's next use: its last write, and its reads since then.
struct BufferHistory {
  std::optional<Access> lastWrite;
  std::vector<Access> readsSinceWrite;
};

} // namespace

std::vector<StreamStep> scheduleTwoStreams(std::span<const LaunchAccess> launches) {
  std::vector<StreamStep> steps(launches.size());
  std::map<size_t, BufferHistory> buffers;
  for (size_t i = 0; i < launches.size(); ++i) {
    const LaunchAccess &access = launches[i];
    StreamStep &step = steps[i];
    step.side = access.reads.empty() && !access.writes.empty();
    // Only an access from the other stream needs a wait; the latest such one covers the rest.
    auto follow = [&](const Access &earlier) {
      if (earlier.side != step.side)
        step.waitFor = std::max(step.waitFor.value_or(earlier.launch), earlier.launch);
    };
    for (size_t buffer : access.reads)
      if (const auto &write = buffers[buffer].lastWrite)
        follow(*write);
    for (size_t buffer : access.writes) {
      const BufferHistory &history = buffers[buffer];
      if (history.lastWrite)
        follow(*history.lastWrite);
      for (const Access &read : history.readsSinceWrite)
        follow(read);
    }
    if (step.waitFor)
      steps[*step.waitFor].signals = true;
    for (size_t buffer : access.reads)
      buffers[buffer].readsSinceWrite.push_back({i, step.side});
    for (size_t buffer : access.writes)
      buffers[buffer] = BufferHistory{Access{i, step.side}, {}};
  }
  return steps;
}

} // namespace greta::hip
