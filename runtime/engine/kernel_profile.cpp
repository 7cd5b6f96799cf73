//===- kernel_profile.cpp - Time per kernel, per phase, as data ------------===//
#include "runtime/engine/kernel_profile.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace greta::engine {
namespace {

void accumulate(KernelTiming &into, const KernelTiming &row) {
  into.launches += row.launches;
  into.seconds += row.seconds;
  into.weightBytes += row.weightBytes;
  into.flops += row.flops;
}

/// Prefill before decode (run order), then the slowest first within a phase.
std::vector<KernelTiming> byPhaseSlowestFirst(std::vector<KernelTiming> rows) {
  auto phaseOrder = [](const KernelTiming &row) { return row.phase == "prefill" ? 0 : 1; };
  std::stable_sort(rows.begin(), rows.end(), [&](const KernelTiming &a, const KernelTiming &b) {
    if (phaseOrder(a) != phaseOrder(b))
      return phaseOrder(a) < phaseOrder(b);
    return a.seconds > b.seconds;
  });
  return rows;
}

} // namespace

void KernelProfile::add(bundle::PhaseKind phase, const bundle::KernelSpec &kernel, double seconds,
                        const LaunchWork &work) {
  const std::string_view phaseName = bundle::nameOf(phase);
  auto it = std::find_if(rows_.begin(), rows_.end(), [&](const KernelTiming &row) {
    return row.kernel == kernel.name && row.phase == phaseName;
  });
  if (it == rows_.end()) {
    rows_.push_back(
        {.phase = std::string(phaseName), .kernel = kernel.name, .family = kernel.family});
    it = rows_.end() - 1;
  }
  accumulate(
      *it,
      {.launches = 1, .seconds = seconds, .weightBytes = work.weightBytes, .flops = work.flops});
}

std::vector<KernelTiming> KernelProfile::kernels() const { return byPhaseSlowestFirst(rows_); }

std::vector<KernelTiming> KernelProfile::families() const {
  std::vector<KernelTiming> folded;
  for (const KernelTiming &row : rows_) {
    auto it = std::find_if(folded.begin(), folded.end(), [&](const KernelTiming &f) {
      return f.phase == row.phase && f.family == row.family;
    });
    if (it == folded.end()) {
      folded.push_back({.phase = row.phase, .kernel = row.family, .family = row.family});
      it = folded.end() - 1;
    }
    accumulate(*it, row);
  }
  return byPhaseSlowestFirst(std::move(folded));
}

double KernelProfile::totalSeconds(std::string_view phase) const {
  double total = 0;
  for (const KernelTiming &row : rows_)
    if (phase.empty() || row.phase == phase)
      total += row.seconds;
  return total;
}

std::string formatProfileMarkdown(const std::vector<KernelTiming> &rows) {
  std::map<std::string, double> phaseSeconds;
  for (const KernelTiming &row : rows)
    phaseSeconds[row.phase] += row.seconds;
  std::string out =
      "| phase | kernel | family | launches | total ms | avg µs | share | weight GB/s "
      "| GFLOP/s |\n| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n";
  for (const KernelTiming &row : rows) {
    const double phaseTotal = phaseSeconds[row.phase];
    const std::string bandwidth =
        row.weightBytes ? fmt::format("{:.1f}", row.bytesPerSecond() / 1e9) : "—";
    const std::string flops =
        row.flops > 0 ? fmt::format("{:.1f}", row.flopsPerSecond() / 1e9) : "—";
    out += fmt::format("| {} | {} | {} | {} | {:.3f} | {:.1f} | {:.1f} % | {} | {} |\n", row.phase,
                       row.kernel, row.family, row.launches, 1e3 * row.seconds,
                       1e6 * row.averageSeconds(),
                       phaseTotal > 0 ? 100.0 * row.seconds / phaseTotal : 0.0, bandwidth, flops);
  }
  return out;
}

} // namespace greta::engine
