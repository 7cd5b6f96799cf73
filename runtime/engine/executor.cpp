//===- executor.cpp - The CPU backend's PlanExecutor ------------------------===//
#include "runtime/engine/executor.h"

#include "runtime/bundle/bundle.h"

#include <fmt/format.h>

#include <chrono>

namespace greta::engine {
namespace {

/// Forwards every call to a cpu::CpuProgram. Profiling times each launch with the wall clock
/// between launch observer calls: CPU launches are synchronous, so that is the launch's time.
class CpuExecutor final : public PlanExecutor {
public:
  CpuExecutor(const bundle::Bundle &bundle, const ExecutorOptions &options)
      : bundle_(bundle), program_(bundle, options) {}

  std::span<int32_t> tokens() override { return program_.tokens(); }
  std::span<int32_t> positions() override { return program_.positions(); }
  void run(bundle::PhaseKind phase, uint64_t seq, const cpu::LaunchObserver &observer) override {
    if (!profiling_) {
      program_.run(phase, seq, observer);
      return;
    }
    const std::vector<bundle::Launch> &launches = program_.plan(phase).launches;
    auto start = std::chrono::steady_clock::now();
    program_.run(phase, seq, [&](size_t index) {
      const auto end = std::chrono::steady_clock::now();
      const bundle::Launch &launch = launches[index];
      profile_.add(phase, *bundle_.manifest().findKernel(launch.kernel),
                   std::chrono::duration<double>(end - start).count(),
                   launchWork(bundle_, launch, seq, program_.positions()));
      if (observer)
        observer(index);
      start = std::chrono::steady_clock::now(); // the observer's own time is not the kernel's
    });
  }
  std::span<const float> lastRow(std::string_view name, uint64_t seq) override {
    return program_.lastRow(name, seq);
  }
  std::optional<cpu::WeightView> boundWeight(bundle::PhaseKind phase, size_t launchIndex,
                                             const std::string &arg) const override {
    return program_.boundWeight(phase, launchIndex, arg);
  }
  std::span<const float> logits(bundle::PhaseKind phase) override { return program_.logits(phase); }
  std::vector<cpu::AuditResult> audits(bundle::PhaseKind phase) override {
    return program_.audits(phase);
  }
  uint64_t context() const override { return program_.context(); }
  uint64_t maxBatch() const override { return program_.maxBatch(); }
  unsigned threads() const override { return program_.threads(); }
  void setProfiling(bool on) override { profiling_ = on; }
  KernelProfile &profile() override { return profile_; }
  std::string_view device() const override { return "cpu"; }
  std::string description() const override {
    return fmt::format("cpu, {} threads", program_.threads());
  }

private:
  const bundle::Bundle &bundle_;
  cpu::CpuProgram program_;
  bool profiling_ = false;
  KernelProfile profile_;
};

} // namespace

std::unique_ptr<PlanExecutor> makeCpuExecutor(const bundle::Bundle &bundle,
                                              const ExecutorOptions &options) {
  return std::make_unique<CpuExecutor>(bundle, options);
}

} // namespace greta::engine
