//===- audit_log.h - The audit recorder: one JSON line per step ------------===//
//
// AuditTracer turns a session's audit records into the JSONL of ARCHITECTURE.md "Audit record":
// one object per step (prefill_last, decode0, decodeN), every field always present (null when
// the bundle or the options do not provide it), in this order:
//
//   phase step turn prompt tokens_total seq_len pos_id
//   hidden_{hash,min,max,mean}                    pre-norm hidden state, last row
//   rms_{hash,min,max,mean,sumsq}                 final_rmsnorm output (audit record)
//   rms_{eps,weight_dtype,input_dtype}            the final norm launch (params.eps, its weight's
//                                                 type, the input buffer's dtype)
//   logits_{hash,min,max,mean} top1_id top1_logit top2_id top2_logit gap
//   lm_head_{route,quant_mode,layout_used,dtype_a,dtype_b,accum_dtype,scales_hash}
//   cpu_probe_{top1_id,top1_logit,agrees_gpu,max_abs_diff,weights}   (--cpu-probe)
//   rms_verify_{max_abs_diff,ok}                                      (--rms-verify)
//   delta_{hidden_max_abs_diff,rms_max_abs_diff,max_abs_diff,top1_agrees,prefill_top1_id,agrees}
//                                                 (--trace-delta; decode steps only)
//   <point>_{hash,min,max,mean,sumsq}             any further audit point (dots → underscores)
//   forced_routes injected_fault
//
// Row hashes (hidden, rms, logits, <point>) are "fnv1a64tree:<16 hex digits>", the FNV-1a 64
// tree of runtime/support/audit_digest.h over the float32 bit patterns, as every backend's
// audit_stats computes it; the scales hash is "fnv1a64:<16 hex digits>" (weight_scales.h). LM-head fields come from the plan the phase runs: the launch of the
// lm_head audit point, its kernel's route and params (quant; dtype_a, dtype_b, accum_dtype when
// the kernel declares them, else the input buffer's dtype, the weight's type and f32) and its
// weight's layout. No timestamps: identical runs write identical bytes.
//
// Delta mode re-runs, after each decode step at position N, a prefill of the same N+1 tokens in
// a scratch session (same bundle, routes and faults) and compares each audit point.
//
// Thread-safety: not thread-safe; drives the session it was given and one scratch session.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/engine/cpu_probe.h"
#include "runtime/engine/session.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace greta::engine {

struct AuditTraceOptions {
  bool cpuProbe = false;  ///< --cpu-probe / GRETA_TRACE_LMHEAD_CPU_PROBE=1
  bool rmsVerify = false; ///< --rms-verify / GRETA_TRACE_RMS_VERIFY=1
  bool delta = false;     ///< --trace-delta / GRETA_TRACE_PREFILL_DECODE_DELTA=1
  ProbeWeightSource weights{};
};

/// What a phase's plan says about its final norm and LM head (constant per session).
struct PhaseAuditFacts {
  std::optional<double> rmsEps;
  std::string rmsWeightDtype, rmsInputDtype;
  std::string lmHeadRoute, lmHeadQuantMode, lmHeadLayoutUsed;
  std::string lmHeadDtypeA, lmHeadDtypeB, lmHeadAccumDtype;
  std::optional<uint64_t> lmHeadScalesHash;
};

class AuditTracer {
public:
  /// `session` must have been made with captureAuditRows and must outlive the tracer. Throws
  /// greta::Error when the bundle has no audit points, or when the probe or --rms-verify is asked
  /// for and the plan lacks what they read (naming what is missing).
  AuditTracer(Session &session, const AuditTraceOptions &options);
  ~AuditTracer();

  /// Sets the `prompt` field of the following records (the user's text, for the report).
  void setPrompt(std::string prompt);
  /// The JSON line (no newline) of the session's last prefill or decode.
  std::string stepJson();

private:
  const PhaseAuditFacts &facts(bundle::PhaseKind phase);
  const CpuProbe &probe(bundle::PhaseKind phase);

  Session &session_;
  AuditTraceOptions options_;
  std::string prompt_;
  uint64_t turn_ = 0;
  bool seenPrefill_ = false;
  std::map<bundle::PhaseKind, PhaseAuditFacts> facts_;
  std::map<bundle::PhaseKind, std::unique_ptr<CpuProbe>> probes_;
  std::unique_ptr<Session> scratch_; // delta mode
};

} // namespace greta::engine
