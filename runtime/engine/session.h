//===- session.h - One conversation with a compiled model ------------------===//
//
// A Session runs a bundle's plans: prefill(tokens) appends tokens at the current position and
// returns the logits of the last one; decode(token) appends one token. Both execute the
// manifest's launches in order through an executor (executor.h: CPU or GPU); the session
// keeps the position and the tokens, and collects the audit records the plan's audit_stats
// launches wrote (and, when asked, the audited rows themselves, for the CPU probe). Options pick
// a route alternative the bundle carries (--force-route) and, for tests only, inject a fault.
//
// The KV cache holds `context` tokens (default: the model's context, capped at
// kDefaultContextCap). A prompt that does not fit is an error, never a truncation. Prompts longer
// than the batch run as several prefill runs (chunks), which the KV cache makes equivalent.
//
// Thread-safety: not thread-safe; one caller at a time. The returned logits stay valid until the
// next prefill/decode.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/bundle/audit_record.h"
#include "runtime/bundle/bundle.h"
#include "runtime/cpu/weight_view.h"
#include "runtime/engine/executor.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace greta::engine {

class FaultInjector;

/// Default KV cache length when the user gives none: Llama-3.1's 131072-token context would take
/// 32 GiB of f32 KV cache for an 8B model (256 KiB a token; 16 GiB in f16, params.kv_dtype);
/// 4096 tokens take 1 GiB (512 MiB in f16).
inline constexpr uint64_t kDefaultContextCap = 4096;
/// Default tokens per prefill run: bounds the activation buffers (rows × ffn floats).
inline constexpr uint64_t kDefaultMaxBatch = 512;

struct SessionOptions {
  uint64_t context = 0;  ///< 0: min(model context, kDefaultContextCap); at most the model's
  uint64_t maxBatch = 0; ///< 0: min(context, kDefaultMaxBatch)
  unsigned threads = 0;  ///< 0: one per hardware thread
  /// "OP=ROUTE" choices (--force-route lm_head=gemv): each phase runs the bundle's alternative
  /// with that route where its own plan takes another (route_selection.h).
  std::vector<std::string> forceRoutes{};
  /// TESTS ONLY: a fault to inject into the backend's weights (fault_injection.h); empty: none.
  std::string injectFault{};
  /// Keep, after each step, the last row of every audited buffer and of its input (the
  /// pre-norm hidden state for final_rmsnorm): AuditRecord::output / input. The CPU probe,
  /// --rms-verify and delta mode read them.
  bool captureAuditRows = false;
  /// Makes the executor the plans run on (runtime/engine/executor.h); null: the CPU backend.
  ExecutorFactory executor{};
};

/// One audit point's record from one step (ARCHITECTURE.md "Audit record").
struct AuditRecord {
  std::string phase;        ///< prefill_last | decode0 | decodeN
  uint64_t step = 0;        ///< decode steps since the last prefill (0 for prefill)
  uint64_t tokensTotal = 0; ///< tokens in the KV cache after the step
  uint64_t seqLen = 0;      ///< tokens of the run that wrote the record
  uint64_t posId = 0;       ///< position of the audited (last) token
  std::string point;        ///< final_rmsnorm, lm_head, …
  bundle::AuditStatsRecord stats;
  /// With captureAuditRows: the audited buffer's last row right after the point's launch, and
  /// the input's (empty when the point has none).
  std::vector<float> output{};
  std::vector<float> input{};
};

class Session {
public:
  /// Prepares `bundle` (which must outlive the session). Throws greta::Error for a context
  /// above the model's, or buffers that cannot be allocated.
  explicit Session(const bundle::Bundle &bundle, const SessionOptions &options = {});
  ~Session();

  /// Appends `tokens` (at least one) at position() and returns the logits after the last.
  /// Throws greta::Error, changing nothing, when they do not fit the context or an id is outside
  /// the vocabulary.
  std::span<const float> prefill(std::span<const int32_t> tokens);
  /// Appends one token; throws when the context is full.
  std::span<const float> decode(int32_t token);

  uint64_t position() const { return position_; }
  uint64_t context() const;
  uint64_t maxBatch() const;
  unsigned threads() const;
  /// The executor the plans run on ("cpu" / "hip", and a one-line description).
  std::string_view device() const { return program_->device(); }
  std::string deviceDescription() const { return program_->description(); }
  uint64_t vocab() const { return bundle_.manifest().model.vocab; }
  /// Forgets every token (the KV cache is overwritten as positions are reused).
  void reset();
  /// The records written by the last prefill or decode (empty for bundles without audits).
  const std::vector<AuditRecord> &audits() const { return audits_; }
  const bundle::Bundle &bundle() const { return bundle_; }
  /// The executor the plans run on (profiling, backend-specific statistics).
  PlanExecutor &executor() { return *program_; }
  const SessionOptions &options() const { return options_; }
  /// Every token in the KV cache, in order (what a prefill of the same tokens would take).
  const std::vector<int32_t> &tokens() const { return tokens_; }
  /// The plan each phase runs: the manifest's, or an alternative chosen by forceRoutes.
  const bundle::PhasePlan &plan(bundle::PhaseKind phase) const;
  /// The weight that launch `launchIndex` of `phase` reads as `arg`, as the backend reads it
  /// (after fault injection), or nullopt when there is none.
  std::optional<cpu::WeightView> boundWeight(bundle::PhaseKind phase, size_t launchIndex,
                                             const std::string &arg) const;
  /// The buffer holding the input of audit point `point` of `plan` (its `input` field, else the
  /// launch's own: rms_norm `x` unless normalised in place, add_rms_norm `sum`); "" when none.
  static std::string auditInputBuffer(const bundle::Manifest &manifest,
                                      const bundle::PhasePlan &plan,
                                      const bundle::AuditPoint &point);

private:
  void checkTokens(std::span<const int32_t> tokens) const;
  void collectAudits(bundle::PhaseKind phase, uint64_t seq);
  void runPhase(bundle::PhaseKind phase, uint64_t seq);

  const bundle::Bundle &bundle_;
  SessionOptions options_;
  std::unique_ptr<bundle::PhasePlan> prefillPlan_; // null: the manifest's
  std::unique_ptr<bundle::PhasePlan> decodePlan_;
  std::unique_ptr<FaultInjector> faults_;
  std::unique_ptr<PlanExecutor> program_;
  uint64_t position_ = 0;
  uint64_t decodeSteps_ = 0;
  std::vector<int32_t> tokens_;
  std::vector<AuditRecord> audits_;
  std::vector<AuditRecord> captured_; // rows captured during the current run, by audit index
};

} // namespace greta::engine
