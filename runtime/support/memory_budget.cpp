#include "runtime/support/memory_budget.h"

#include "runtime/support/error.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>

namespace greta {
namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
constexpr uint64_t kKiB = 1024;

/// MemAvailable from /proc/meminfo ("MemAvailable:   12345678 kB").
std::optional<uint64_t> memAvailable() {
  std::ifstream meminfo("/proc/meminfo");
  std::string line;
  while (std::getline(meminfo, line)) {
    std::istringstream fields(line);
    std::string name;
    uint64_t kib = 0;
    if (fields >> name >> kib && name == "MemAvailable:")
      return kib * kKiB;
  }
  return std::nullopt;
}

/// One number from a cgroup v2 file; nullopt for "max" (no limit) or an unreadable file.
std::optional<uint64_t> cgroupValue(const char *path) {
  std::ifstream in(path);
  uint64_t value = 0;
  if (in >> value)
    return value;
  return std::nullopt;
}

/// What the cgroup this process runs in still allows, where it sets a limit.
std::optional<uint64_t> cgroupHeadroom() {
  const std::optional<uint64_t> limit = cgroupValue("/sys/fs/cgroup/memory.max");
  const std::optional<uint64_t> used = cgroupValue("/sys/fs/cgroup/memory.current");
  if (!limit || !used)
    return std::nullopt;
  return *limit > *used ? *limit - *used : 0;
}

} // namespace

std::optional<uint64_t> availableMemoryBytes() {
  const std::optional<uint64_t> machine = memAvailable();
  const std::optional<uint64_t> cgroup = cgroupHeadroom();
  if (machine && cgroup)
    return std::min(*machine, *cgroup);
  return machine ? machine : cgroup;
}

void requireMemory(uint64_t bytes, std::optional<uint64_t> available, std::string_view what,
                   std::string_view hint) {
  if (!available || bytes <= *available)
    return;
  fail("{}: needs {} bytes ({:.2f} GiB) but only {} bytes ({:.2f} GiB) of memory are available "
       "(MemAvailable, cgroup memory.max); {}",
       what, bytes, bytes / kGiB, *available, *available / kGiB, hint);
}

} // namespace greta
