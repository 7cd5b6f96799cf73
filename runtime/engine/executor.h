//===- executor.h - What runs a bundle's plans: the CPU or the GPU ----------===//
//
// A Session keeps the conversation (position, tokens, audit records); a PlanExecutor holds the
// buffers and runs one phase's launches, in manifest order, on a backend. The CPU backend's
// executor wraps cpu::CpuProgram; the HIP backend's (runtime/hip/hip_executor.h) runs the same
// plans' emitted kernels on a GPU. Sessions pick one through SessionOptions::executor (null: the
// CPU), so the engine itself never links a GPU library.
//
// Thread-safety: an executor is not thread-safe; one caller at a time.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/bundle/manifest.h"
#include "runtime/cpu/cpu_program.h"
#include "runtime/cpu/weight_view.h"
#include "runtime/engine/kernel_profile.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace greta::bundle {
class Bundle;
}

namespace greta::engine {

/// The settings every executor takes (context, batch, plans, weight substitutes): the CPU
/// program's options, which say nothing CPU-specific but the thread count.
using ExecutorOptions = cpu::CpuProgramOptions;

class PlanExecutor {
public:
  virtual ~PlanExecutor() = default;

  /// The runtime's inputs, in host memory: write the first `seq` entries before run().
  virtual std::span<int32_t> tokens() = 0;
  virtual std::span<int32_t> positions() = 0;
  /// Runs `phase` for `seq` tokens (prefill: 1..maxBatch; decode: 1); `observer`, when set, is
  /// called after every launch (lastRow() then reads the state right after that launch).
  virtual void run(bundle::PhaseKind phase, uint64_t seq,
                   const cpu::LaunchObserver &observer = {}) = 0;
  /// The last row of f32 buffer `name` in a run of `seq` tokens, as it is now, in host memory
  /// (valid until the next call).
  virtual std::span<const float> lastRow(std::string_view name, uint64_t seq) = 0;
  /// The weight launch `launchIndex` of `phase` reads as `arg` (host bytes), or nullopt.
  virtual std::optional<cpu::WeightView> boundWeight(bundle::PhaseKind phase, size_t launchIndex,
                                                     const std::string &arg) const = 0;
  /// The phase's logits (one row of vocab values) after its last run, in host memory.
  virtual std::span<const float> logits(bundle::PhaseKind phase) = 0;
  /// The records of the phase's audit_stats launches of its last run, in launch order.
  virtual std::vector<cpu::AuditResult> audits(bundle::PhaseKind phase) = 0;

  virtual uint64_t context() const = 0;
  virtual uint64_t maxBatch() const = 0;
  /// CPU threads the executor computes with (1 for a GPU executor: the host only feeds it).
  virtual unsigned threads() const = 0;
  /// Starts (true) or stops timing every launch into profile(). Timing may slow a run down:
  /// the GPU runs decode launch by launch between events instead of replaying its graph.
  virtual void setProfiling(bool on) = 0;
  /// The launches timed while profiling was on, with their work (kernel_work.h); clear() it to
  /// start over.
  virtual KernelProfile &profile() = 0;
  /// "cpu", or "hip" for the GPU.
  virtual std::string_view device() const = 0;
  /// One line describing where the plans run ("cpu, 8 threads", the GPU's summary).
  virtual std::string description() const = 0;
};

/// Makes the executor a Session runs its plans on.
using ExecutorFactory = std::function<std::unique_ptr<PlanExecutor>(
    const bundle::Bundle &bundle, const ExecutorOptions &options)>;

/// The CPU backend's executor (cpu::CpuProgram).
std::unique_ptr<PlanExecutor> makeCpuExecutor(const bundle::Bundle &bundle,
                                              const ExecutorOptions &options);

} // namespace greta::engine
