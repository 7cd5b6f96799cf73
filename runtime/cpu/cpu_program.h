//===- cpu_program.h - A bundle's two phases, ready to run on the CPU ------===//
//
// Allocates every buffer of the manifest ("seq" rows for the largest prefill run, KV caches for
// the context) and turns each launch of both phases into a prepared CpuLaunch, in manifest
// order. run() executes one phase's launches in that order: the program holds no model
// structure of its own, only what the bundle's plan says.
//
// Thread-safety: not thread-safe; one caller at a time. Kernels use the program's thread pool.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/bundle/audit_record.h"
#include "runtime/bundle/manifest.h"
#include "runtime/cpu/cpu_kernel.h"
#include "runtime/cpu/thread_pool.h"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace greta::bundle {
class Bundle;
}

namespace greta::cpu {

/// Lets a caller hand a launch another weight than the bundle's (the engine's fault injection,
/// tests only): called for each weight argument as launches are prepared; nullopt keeps the
/// bundle's. The returned view's bytes must outlive the program.
using WeightSubstitute = std::function<std::optional<WeightView>(
    bundle::PhaseKind phase, size_t launchIndex, const std::string &arg, const WeightView &weight)>;

struct CpuProgramOptions {
  uint64_t context = 0;  ///< rows of the KV caches (>= 1)
  uint64_t maxBatch = 0; ///< the most tokens one prefill run takes (>= 1)
  unsigned threads = 0;  ///< 0: one per hardware thread
  /// Plans to run instead of the manifest's phases (a route alternative chosen at run time);
  /// null: the manifest's. They must outlive the program and be validated like a phase.
  const bundle::PhasePlan *prefillPlan = nullptr;
  const bundle::PhasePlan *decodePlan = nullptr;
  WeightSubstitute substitute{};
};

/// Called after each launch of a run with the launch's index (audit row captures).
using LaunchObserver = std::function<void(size_t launchIndex)>;

/// The record an audit_stats launch wrote in the last run of its phase.
struct AuditResult {
  std::string point;
  uint64_t launchIndex = 0;
  bundle::AuditStatsRecord record;
};

class CpuProgram {
public:
  /// Prepares `bundle` (which must outlive the program). Throws greta::Error when a buffer
  /// cannot be allocated (naming it and its size) or a weight's layout is one the CPU cannot
  /// read.
  CpuProgram(const bundle::Bundle &bundle, const CpuProgramOptions &options);
  ~CpuProgram();

  /// The runtime's inputs: write the first `seq` entries before run().
  std::span<int32_t> tokens();
  std::span<int32_t> positions();

  /// Runs `phase` for `seq` tokens (prefill: 1..maxBatch; decode: 1); `observer`, when set, is
  /// called after every launch.
  void run(bundle::PhaseKind phase, uint64_t seq, const LaunchObserver &observer = {});

  /// TESTS: runs launch `launchIndex` of `phase`'s plan alone for `seq` tokens, on what the
  /// buffers hold now: the kernel tests compare one launch across backends.
  void runLaunch(bundle::PhaseKind phase, size_t launchIndex, uint64_t seq);
  /// TESTS: every byte of buffer `name` (all rows allocated), to fill before runLaunch() and read
  /// after it. Throws for an unknown buffer.
  std::span<uint8_t> bufferBytes(std::string_view name);

  /// The plan run for `phase`: the manifest's, or the one given in the options.
  const bundle::PhasePlan &plan(bundle::PhaseKind phase) const;
  /// The last row of f32 buffer `name` in a run of `seq` tokens, as it is now (read it from an
  /// observer to see it right after a launch). Throws for an unknown or non-f32 buffer.
  std::span<const float> lastRow(std::string_view name, uint64_t seq);
  /// The weight launch `launchIndex` of `phase` reads as `arg` (after any substitution), or
  /// nullopt when the launch has no such weight argument.
  std::optional<WeightView> boundWeight(bundle::PhaseKind phase, size_t launchIndex,
                                        const std::string &arg) const;

  /// The phase's logits buffer (one row of vocab values), as its last run left it.
  std::span<const float> logits(bundle::PhaseKind phase);
  /// The records of the phase's audit_stats launches, in launch order.
  std::vector<AuditResult> audits(bundle::PhaseKind phase);

  uint64_t context() const { return options_.context; }
  uint64_t maxBatch() const { return options_.maxBatch; }
  unsigned threads() const { return pool_.size(); }
  /// Bytes of all buffers (KV caches included).
  uint64_t bufferBytes() const { return bufferBytes_; }

private:
  struct PreparedPhase {
    std::vector<std::unique_ptr<CpuLaunch>> launches;
    /// Per launch: run() skips it (see unreadByCpu in cpu_program.cpp).
    std::vector<bool> skipped;
    std::vector<std::pair<size_t, CpuBuffer *>> auditLaunches; // launch index, stats buffer
    LaunchWeights weights;                                      // per launch, by argument
    CpuBuffer *logits = nullptr;
  };

  void allocateBuffers();
  void checkRunSize(bundle::PhaseKind phase, uint64_t seq) const;
  PreparedPhase prepare(bundle::PhaseKind phase);
  CpuBuffer &buffer(std::string_view name);

  const bundle::Bundle &bundle_;
  CpuProgramOptions options_;
  ThreadPool pool_;
  std::vector<std::unique_ptr<CpuBuffer>> buffers_;
  std::map<std::string, CpuBuffer *, std::less<>> bufferIndex_;
  uint64_t bufferBytes_ = 0;
  PreparedPhase prefill_;
  PreparedPhase decode_;
};

} // namespace greta::cpu
