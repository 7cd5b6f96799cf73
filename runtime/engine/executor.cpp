//===- executor.cpp - The CPU backend's PlanExecutor ------------------------===//
#include "runtime/engine/executor.h"

#include <fmt/format.h>

namespace greta::engine {
namespace {

/// Forwards every call to a cpu::CpuProgram.
class CpuExecutor final : public PlanExecutor {
public:
  CpuExecutor(const bundle::Bundle &bundle, const ExecutorOptions &options)
      : program_(bundle, options) {}

  std::span<int32_t> tokens() override { return program_.tokens(); }
  std::span<int32_t> positions() override { return program_.positions(); }
  void run(bundle::PhaseKind phase, uint64_t seq, const cpu::LaunchObserver &observer) override {
    program_.run(phase, seq, observer);
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
  std::string_view device() const override { return "cpu"; }
  std::string description() const override {
    return fmt::format("cpu, {} threads", program_.threads());
  }

private:
  cpu::CpuProgram program_;
};

} // namespace

std::unique_ptr<PlanExecutor> makeCpuExecutor(const bundle::Bundle &bundle,
                                              const ExecutorOptions &options) {
  return std::make_unique<CpuExecutor>(bundle, options);
}

} // namespace greta::engine
