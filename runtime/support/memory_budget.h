//===- memory_budget.h - Refuse allocations the machine cannot back --------===//
//
// Linux overcommits: a vector of 40 GB on a 32 GB machine is "allocated", and the process is
// killed (no error message) when the zero-fill touches the pages. So large host allocations whose
// size comes from a file or a flag (KV caches from --ctx, weights repacked at load) are checked
// first, in total, against the memory the kernel says is available: MemAvailable in
// /proc/meminfo, lowered to the cgroup v2 limit (memory.max - memory.current) where one is set.
//
// Thread-safety: stateless; safe from any thread.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace greta {

/// Bytes this process can allocate without swapping, as above; nullopt where neither source can
/// be read (then nothing is refused).
std::optional<uint64_t> availableMemoryBytes();

/// Throws greta::Error "<what>: needs N bytes (X GiB) but only M bytes (Y GiB) of memory are
/// available; <hint>" when `bytes` exceeds `available`. No check when `available` is nullopt.
void requireMemory(uint64_t bytes, std::optional<uint64_t> available, std::string_view what,
                   std::string_view hint);

/// requireMemory() against availableMemoryBytes().
inline void requireAvailableMemory(uint64_t bytes, std::string_view what, std::string_view hint) {
  requireMemory(bytes, availableMemoryBytes(), what, hint);
}

} // namespace greta
