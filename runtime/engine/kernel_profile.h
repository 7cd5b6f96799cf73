//===- kernel_profile.h - Time per kernel, per phase, as data --------------===//
//
// What an executor measures while profiling (PlanExecutor::setProfiling): for every kernel of
// each phase, how often it ran, how long it took in all, and the work it did (kernel_work.h:
// weight bytes read, FLOPs), from which the table derives achieved bandwidth and FLOP/s. Rows
// can be folded per kernel family, the view that says where a phase's time goes.
//
// Thread-safety: not thread-safe; the executor that owns it writes it during run().
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/bundle/manifest.h"
#include "runtime/engine/kernel_work.h"

#include <cstdint>
#include <string>
#include <vector>

namespace greta::engine {

/// One kernel (or, folded, one family) of one phase.
struct KernelTiming {
  std::string phase{};  ///< "prefill" | "decode"
  std::string kernel{}; ///< the kernel's name; folded rows: the family's
  std::string family{};
  uint64_t launches = 0;
  double seconds = 0;       ///< all launches
  uint64_t weightBytes = 0; ///< all launches
  double flops = 0;         ///< all launches

  double averageSeconds() const { return launches ? seconds / static_cast<double>(launches) : 0; }
  /// Weight bytes per second (0 when it reads none or took no time).
  double bytesPerSecond() const {
    return seconds > 0 ? static_cast<double>(weightBytes) / seconds : 0;
  }
  double flopsPerSecond() const { return seconds > 0 ? flops / seconds : 0; }
};

class KernelProfile {
public:
  /// Adds one launch of `kernel` in `phase` that took `seconds` and did `work`.
  void add(bundle::PhaseKind phase, const bundle::KernelSpec &kernel, double seconds,
           const LaunchWork &work);
  void clear() { rows_.clear(); }
  bool empty() const { return rows_.empty(); }

  /// One row per phase and kernel: prefill, then decode, each slowest first.
  std::vector<KernelTiming> kernels() const;
  /// One row per phase and family (kernel = the family), in the same order.
  std::vector<KernelTiming> families() const;
  /// Seconds of every launch of `phase` ("prefill" | "decode"); all phases when empty.
  double totalSeconds(std::string_view phase = {}) const;

private:
  std::vector<KernelTiming> rows_; // in first-launch order
};

/// A markdown table of `rows` (| phase | kernel | family | launches | total ms | avg µs | share |
/// weight GB/s | GFLOP/s |): share is of the phase's time; "—" where a kernel reads no weights
/// or does no counted FLOPs.
std::string formatProfileMarkdown(const std::vector<KernelTiming> &rows);

} // namespace greta::engine
