//===- hip_executor.h - A bundle's plans, run on the GPU -------------------===//
//
// The HIP backend's PlanExecutor (runtime/engine/executor.h). At construction it
//   * allocates every manifest buffer in one device arena: "seq" rows for the largest prefill run
//     (maxBatch), KV caches for the context, the logits row, the 64-byte audit records;
//   * uploads every weight the plans read, as stored (ggml, f16_rows, or a repack the loader made
//     for external weights), into a second arena. Out of memory names what was being allocated,
//     the bytes needed in all, and what the device has free;
//   * compiles each kernel the plans launch once, with KernelCompiler (its disk cache makes a
//     second load compile nothing; an ahead-of-time code object the manifest records for this
//     exact arch is loaded instead while its key matches, code_objects.h), on several threads;
//   * turns every launch into a prepared record: function, block, grid expression and the
//     Params fields in `param_fields` order (codegen/KernelABI.h): one device pointer per
//     argument (per-row arguments at the last `rows` rows of their buffer, lm_head's and
//     audit_stats' `x` at its last row, one-row outputs, KV caches, audit records and weights at
//     their start), `freqs` (or null), `i32 rows`, `i32 ctx`.
//
// run() uploads the tokens and positions (pinned host memory, written by the session) into
// their device buffers, enqueues the phase's launches in order on one stream, copies back the
// logits row and the audit records, and synchronises once at the end: no host sync inside a
// step. A decode step always has seq 1 and fixed buffers, and its kernels read positions from
// the positions buffer, so the first decode step is captured as a graph and every later one
// replays it. Prefill launches directly (its grid and rows depend on seq), the launches that
// read only weights on a second stream, with events where the schedule needs them. With a launch
// observer (audit row captures) the plan runs launch by launch and lastRow() synchronises and
// copies the row it is asked for.
//
// Thread-safety: not thread-safe; one caller at a time, on a thread whose current device is
// the platform's (the constructor makes it current).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/engine/executor.h"
#include "runtime/hip/hip_platform.h"
#include "runtime/hip/hip_resources.h"
#include "runtime/hip/kernel_compiler.h"

#include <cstdint>
#include <map>
#include <set>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace greta::hip {

struct HipExecutorOptions {
  /// Decode replays a graph captured at the first decode step (off: launch by launch).
  bool useGraph = true;
  /// Prefill's launches that read no buffer, only weights (the dequant_f16 decodes), run on a
  /// second stream beside the products before them (stream_schedule.h); off: one stream.
  bool sideStream = true;
  /// Decode kernels whose manifest entry says early_start may start while the launch before
  /// them is still running (hipModuleLaunchKernelEarly; NVIDIA sm_90 and later). Off: each
  /// launch starts after the one before it has finished.
  bool earlyStart = true;
  /// TESTS: fill every buffer with 0xFF bytes (NaN floats) at load, and every activation, logits
  /// and audit buffer again before each run, so an element no kernel wrote shows as NaN.
  bool poison = false;
  KernelCompilerOptions compiler{};
  /// Host threads compiling kernels at load (0: hardware threads).
  unsigned compileThreads = 0;
  /// Profile from the start (setProfiling(true): every launch timed with events, decode launch
  /// by launch instead of a replayed graph) and print the table per kernel — launches, time,
  /// weight bytes per second, FLOP/s — on stderr when the executor is destroyed (greta-run:
  /// GRETA_HIP_PROFILE=1).
  bool profile = false;
};

/// What loading cost, for reports and benchmarks.
struct HipLoadStats {
  uint64_t weightBytes = 0; ///< device bytes of the weights
  uint64_t bufferBytes = 0; ///< device bytes of the buffers (KV caches included)
  size_t kernels = 0;       ///< kernels loaded
  size_t cacheHits = 0;     ///< of which served from the disk cache
  size_t aheadOfTime = 0;   ///< of which loaded from the bundle's code objects
  size_t staleCodeObjects = 0; ///< code objects for this target not used: compiled otherwise
  double compileSeconds = 0;
  double uploadSeconds = 0;
};

class HipExecutor final : public engine::PlanExecutor {
public:
  /// Prepares `bundle` (which must outlive the executor) on `platform`'s device. Throws
  /// greta::Error (HipError for the GPU's own failures, KernelCompileError for a kernel that
  /// does not compile) naming what failed.
  HipExecutor(const bundle::Bundle &bundle, const HipPlatform &platform,
              const engine::ExecutorOptions &options, const HipExecutorOptions &hipOptions = {});
  ~HipExecutor() override;

  std::span<int32_t> tokens() override;
  std::span<int32_t> positions() override;
  void run(bundle::PhaseKind phase, uint64_t seq,
           const cpu::LaunchObserver &observer = {}) override;
  std::span<const float> lastRow(std::string_view name, uint64_t seq) override;
  std::optional<cpu::WeightView> boundWeight(bundle::PhaseKind phase, size_t launchIndex,
                                             const std::string &arg) const override;
  std::span<const float> logits(bundle::PhaseKind phase) override;
  std::vector<cpu::AuditResult> audits(bundle::PhaseKind phase) override;
  uint64_t context() const override { return options_.context; }
  uint64_t maxBatch() const override { return options_.maxBatch; }
  unsigned threads() const override { return 1; }
  void setProfiling(bool on) override { profiling_ = on; }
  engine::KernelProfile &profile() override { return profile_; }
  std::string_view device() const override { return "hip"; }
  std::string description() const override;

  const HipLoadStats &loadStats() const { return stats_; }
  const HipPlatform &platform() const { return platform_; }
  /// Decode steps run by replaying the captured graph so far.
  uint64_t graphReplays() const { return graphReplays_; }
  /// TESTS: every byte of buffer `name` (all rows allocated), after synchronising.
  std::vector<uint8_t> downloadBuffer(std::string_view name);
  /// TESTS: overwrites every byte of buffer `name` (all rows allocated) with `bytes`, which must
  /// be exactly its size.
  void uploadBuffer(std::string_view name, std::span<const uint8_t> bytes);
  /// TESTS: runs launch `launchIndex` of `phase`'s plan alone for `seq` tokens, on what the
  /// buffers hold now (nothing is uploaded or poisoned), and synchronises: the kernel tests
  /// compare one launch with the CPU backend's (cpu::CpuProgram::runLaunch).
  void runLaunch(bundle::PhaseKind phase, size_t launchIndex, uint64_t seq);
  /// TESTS: the device address of buffer `name`'s first row / of weight `name` (null if the
  /// plans read no such weight).
  const void *bufferAddress(std::string_view name) const;
  const void *weightAddress(std::string_view name) const;

private:
  struct Slot;
  struct Field;
  struct PreparedLaunch;
  struct PreparedPhase;

  void allocate();
  void uploadWeights();
  void compileKernels();
  PreparedPhase prepare(bundle::PhaseKind kind);
  /// The kernel's params.shared_bytes (0 when absent), checked against the device's limit; the
  /// kernel's function is allowed that much dynamic shared memory the first time.
  unsigned dynamicSharedBytes(const bundle::KernelSpec &kernel, const std::string &label);
  Slot &slot(std::string_view name);
  const bundle::PhasePlan &plan(bundle::PhaseKind kind) const;
  /// Enqueues the phase's launches in order (`only`: just that one).
  void enqueue(const PreparedPhase &phase, uint64_t seq, const cpu::LaunchObserver &observer,
               std::optional<size_t> only = std::nullopt);
  /// The two-stream schedule of a prepared phase's launches (prefill, with sideStream).
  void scheduleSideStream(PreparedPhase &phase);
  void poisonActivations();
  void printProfile() const;

  const bundle::Bundle &bundle_;
  HipPlatform platform_;
  const HipApi &api_;
  engine::ExecutorOptions options_;
  HipExecutorOptions hipOptions_;
  HipLoadStats stats_;

  Stream stream_;
  std::optional<Stream> sideStream_; ///< made when a phase schedules launches on it
  DeviceBuffer bufferArena_;
  DeviceBuffer weightArena_;
  std::vector<DeviceBuffer> substituted_; // fault-injected weights (tests only)
  std::vector<std::unique_ptr<Slot>> slots_;
  std::map<std::string, Slot *, std::less<>> slotIndex_;
  std::map<std::string, void *, std::less<>> weightPointers_;
  std::map<std::string, hipFunction_t, std::less<>> functions_;
  std::set<std::string> allowedShared_; ///< kernels whose dynamic shared memory is allowed
  std::vector<Module> modules_;

  PinnedHostBuffer hostInputs_;  // tokens, then positions (maxBatch i32 each)
  PinnedHostBuffer hostOutputs_; // prefill logits, decode logits, audit records
  std::unique_ptr<PreparedPhase> prefill_;
  std::unique_ptr<PreparedPhase> decode_;
  std::optional<GraphExec> decodeGraph_;
  uint64_t graphReplays_ = 0;
  std::map<std::string, std::vector<float>, std::less<>> rows_; // lastRow() copies
  bool profiling_ = false;
  std::vector<Event> profileEvents_; // one before each launch, one after the last
  engine::KernelProfile profile_;
};

/// Why `bundle` cannot run on the HIP backend, or "" when it can: each kernel needs its emitted
/// HIP source and the `param_fields` and `block` params emit-hip writes (a bundle made by other
/// means, such as the runtime tests' mock compiler, has none).
std::string hipUnsupportedReason(const bundle::Bundle &bundle);

/// A SessionOptions::executor that runs the plans on `platform` with HipExecutor.
engine::ExecutorFactory hipExecutorFactory(HipPlatform platform, HipExecutorOptions options = {});

} // namespace greta::hip
