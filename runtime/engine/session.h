//===- session.h - One conversation with a compiled model ------------------===//
//
// A Session runs a bundle's plans: prefill(tokens) appends tokens at the current position and
// returns the logits of the last one; decode(token) appends one token. Both execute the
// manifest's launches in order through a backend program (today the CPU backend); the session
// keeps only the position, and collects the audit records the plan's audit_stats launches wrote.
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

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace greta::cpu {
class CpuProgram;
}

namespace greta::engine {

/// Default KV cache length when the user gives none: Llama-3.1's 131072-token context would take
/// 16 GB of f32 KV cache for an 8B model; 4096 tokens is 512 MB.
inline constexpr uint64_t kDefaultContextCap = 4096;
/// Default tokens per prefill run: bounds the activation buffers (rows × ffn floats).
inline constexpr uint64_t kDefaultMaxBatch = 512;

struct SessionOptions {
  uint64_t context = 0;  ///< 0: min(model context, kDefaultContextCap); at most the model's
  uint64_t maxBatch = 0; ///< 0: min(context, kDefaultMaxBatch)
  unsigned threads = 0;  ///< 0: one per hardware thread
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
  uint64_t vocab() const { return bundle_.manifest().model.vocab; }
  /// Forgets every token (the KV cache is overwritten as positions are reused).
  void reset();
  /// The records written by the last prefill or decode (empty for bundles without audits).
  const std::vector<AuditRecord> &audits() const { return audits_; }
  const bundle::Bundle &bundle() const { return bundle_; }

private:
  void checkTokens(std::span<const int32_t> tokens) const;
  void collectAudits(bundle::PhaseKind phase, uint64_t seq);

  const bundle::Bundle &bundle_;
  std::unique_ptr<cpu::CpuProgram> program_;
  uint64_t position_ = 0;
  uint64_t decodeSteps_ = 0;
  std::vector<AuditRecord> audits_;
};

} // namespace greta::engine
