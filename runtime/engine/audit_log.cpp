//===- audit_log.cpp - The audit recorder: one JSON line per step ----------===//
#include "runtime/engine/audit_log.h"

#include "runtime/bundle/manifest_validator.h"
#include "runtime/engine/weight_scales.h"
#include "runtime/support/audit_digest.h"
#include "runtime/support/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

namespace greta::engine {
namespace {

using Json = nlohmann::ordered_json;

/// Longest `prompt` field, in bytes: enough to tell prompts apart in a report.
constexpr size_t kMaxPromptBytes = 200;
/// Relative tolerance of delta mode's "agrees": the probe's. Decode and prefill may run routes of
/// different precision — on the GPU, prefill's GEMMs take f16 inputs (dtype_a) where decode's
/// GEMVs read f32 or, for Q4_K/Q6_K weights, int16 per 32 values (i16) — so a healthy 2-layer
/// model's hidden state already differs by 1e-3 relative on an H200 (and more with depth),
/// while a broken route moves values by their own magnitude.
constexpr double kDeltaTolerance = kProbeTolerance;

std::string prefixOf(const std::string &point) {
  std::string prefix = point;
  std::replace(prefix.begin(), prefix.end(), '.', '_');
  return prefix + "_";
}

const AuditRecord *findRecord(const std::vector<AuditRecord> &records, std::string_view point) {
  for (const AuditRecord &r : records)
    if (r.point == point)
      return &r;
  return nullptr;
}

Json orNull(const std::string &text) { return text.empty() ? Json(nullptr) : Json(text); }
template <typename T> Json orNull(const std::optional<T> &value) {
  return value ? Json(*value) : Json(nullptr);
}

/// A finite double, or null (JSON has no NaN or infinity).
Json number(double value) { return std::isfinite(value) ? Json(value) : Json(nullptr); }

std::string truncateUtf8(std::string text, size_t maxBytes) {
  if (text.size() <= maxBytes)
    return text;
  size_t end = maxBytes;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80)
    --end; // do not cut a character
  text.resize(end);
  return text + "…";
}

std::string paramString(const bundle::KernelSpec &kernel, const std::string &name) {
  auto it = kernel.params.find(name);
  if (it == kernel.params.end())
    return "";
  const auto *text = std::get_if<std::string>(&it->second);
  return text ? *text : "";
}

} // namespace

AuditTracer::AuditTracer(Session &session, const AuditTraceOptions &options)
    : session_(session), options_(options) {
  const bundle::Bundle &bundle = session.bundle();
  if (!session.options().captureAuditRows)
    fail("{}: the audit recorder needs a session made with captureAuditRows", bundle.dir());
  for (bundle::PhaseKind phase : {bundle::PhaseKind::Prefill, bundle::PhaseKind::Decode}) {
    const bundle::PhasePlan &plan = session.plan(phase);
    if (plan.audits.empty())
      fail("{}: phase {} has no audit points (compiled with --audit=none?); recompile with "
           "--audit=default to record audits",
           bundle.dir(), nameOf(phase));
    if (options.rmsVerify || options.cpuProbe) {
      const bundle::AuditPoint *norm = bundle::findAuditPoint(plan, bundle::kFinalRmsNormPoint);
      if (!norm || Session::auditInputBuffer(bundle.manifest(), plan, *norm).empty())
        fail("{}: phase {}: --cpu-probe and --rms-verify start from the pre-norm hidden state, "
             "but the plan's '{}' audit point {}; recompile so that the audit entry names its "
             "`input` buffer",
             bundle.dir(), nameOf(phase), bundle::kFinalRmsNormPoint,
             norm ? "names no input buffer and normalises in place" : "is missing");
      probe(phase); // fail now, not at the first step
    }
    facts(phase);
  }
}

AuditTracer::~AuditTracer() = default;

void AuditTracer::setPrompt(std::string prompt) {
  prompt_ = truncateUtf8(std::move(prompt), kMaxPromptBytes);
}

const CpuProbe &AuditTracer::probe(bundle::PhaseKind phase) {
  std::unique_ptr<CpuProbe> &probe = probes_[phase];
  if (!probe)
    probe = std::make_unique<CpuProbe>(session_.bundle(), session_.plan(phase), options_.weights,
                                       session_.threads());
  return *probe;
}

const PhaseAuditFacts &AuditTracer::facts(bundle::PhaseKind phase) {
  if (auto it = facts_.find(phase); it != facts_.end())
    return it->second;
  PhaseAuditFacts f;
  const bundle::Manifest &m = session_.bundle().manifest();
  const bundle::PhasePlan &plan = session_.plan(phase);
  if (const bundle::AuditPoint *norm = bundle::findAuditPoint(plan, bundle::kFinalRmsNormPoint)) {
    const bundle::Launch &launch = plan.launches.at(norm->launchIndex);
    const bundle::KernelSpec &kernel = *m.findKernel(launch.kernel);
    if (kernel.params.count("eps"))
      f.rmsEps = bundle::numberParam(kernel, "eps");
    if (auto weight = session_.boundWeight(phase, norm->launchIndex, "weight"))
      f.rmsWeightDtype = std::string(nameOf(weight->type));
    if (const std::string input = Session::auditInputBuffer(m, plan, *norm); !input.empty())
      f.rmsInputDtype = std::string(nameOf(m.findBuffer(input)->dtype));
  }
  if (const bundle::AuditPoint *head = bundle::findAuditPoint(plan, bundle::kLmHeadPoint)) {
    const bundle::Launch &launch = plan.launches.at(head->launchIndex);
    const bundle::KernelSpec &kernel = *m.findKernel(launch.kernel);
    f.lmHeadRoute = kernel.route;
    auto weight = session_.boundWeight(phase, head->launchIndex, "weight");
    f.lmHeadQuantMode = paramString(kernel, "quant");
    if (f.lmHeadQuantMode.empty() && weight)
      f.lmHeadQuantMode = std::string(nameOf(weight->type));
    if (auto ref = launch.args.find("weight"); ref != launch.args.end())
      if (auto name = bundle::weightRefName(ref->second))
        f.lmHeadLayoutUsed = m.findWeight(*name)->layout;
    // The kernel's declared operand types describe what the GPU runs; the CPU backend computes
    // every route in f32 from the weights as stored, so on the CPU the record says that instead.
    const bool onGpu = session_.executor().device() != "cpu";
    auto declared = [&](const std::string &key) {
      return onGpu ? paramString(kernel, key) : std::string();
    };
    f.lmHeadDtypeA = declared("dtype_a");
    if (auto x = launch.args.find("x"); f.lmHeadDtypeA.empty() && x != launch.args.end())
      f.lmHeadDtypeA = std::string(nameOf(m.findBuffer(x->second)->dtype));
    f.lmHeadDtypeB = declared("dtype_b");
    if (f.lmHeadDtypeB.empty())
      f.lmHeadDtypeB = onGpu && weight ? std::string(nameOf(weight->type)) : "f32";
    f.lmHeadAccumDtype = declared("accum_dtype");
    if (f.lmHeadAccumDtype.empty())
      f.lmHeadAccumDtype = "f32"; // what the CPU backend accumulates in
    if (weight)
      f.lmHeadScalesHash = scalesHash(*weight);
  }
  return facts_.emplace(phase, std::move(f)).first->second;
}

std::string AuditTracer::stepJson() {
  const std::vector<AuditRecord> &records = session_.audits();
  if (records.empty())
    return "";
  const AuditRecord &first = records.front();
  const bool prefill = first.phase == "prefill_last";
  const bundle::PhaseKind phase = prefill ? bundle::PhaseKind::Prefill : bundle::PhaseKind::Decode;
  if (prefill) {
    turn_ += seenPrefill_ ? 1 : 0;
    seenPrefill_ = true;
  }
  const AuditRecord *norm = findRecord(records, bundle::kFinalRmsNormPoint);
  const AuditRecord *head = findRecord(records, bundle::kLmHeadPoint);
  const PhaseAuditFacts &f = facts(phase);

  Json line;
  line["phase"] = first.phase;
  line["step"] = first.step;
  line["turn"] = turn_;
  line["prompt"] = orNull(prompt_);
  line["tokens_total"] = first.tokensTotal;
  line["seq_len"] = first.seqLen;
  line["pos_id"] = first.posId;

  const bool hasHidden = norm && !norm->input.empty();
  if (hasHidden) {
    // Stats of the captured row, exactly as an audit_stats launch would reduce it.
    const std::span<const float> hidden = norm->input;
    double sum = 0;
    for (float v : hidden)
      sum += v;
    line["hidden_hash"] = formatAuditDigest(auditDigest(hidden));
    line["hidden_min"] = *std::min_element(hidden.begin(), hidden.end());
    line["hidden_max"] = *std::max_element(hidden.begin(), hidden.end());
    line["hidden_mean"] = static_cast<float>(sum / static_cast<double>(hidden.size()));
  } else {
    for (const char *key : {"hidden_hash", "hidden_min", "hidden_max", "hidden_mean"})
      line[key] = nullptr;
  }

  auto stats = [&](const std::string &prefix, const AuditRecord *r, bool sumsq) {
    line[prefix + "hash"] = r ? Json(formatAuditDigest(r->stats.hash)) : Json(nullptr);
    line[prefix + "min"] = r ? Json(r->stats.min) : Json(nullptr);
    line[prefix + "max"] = r ? Json(r->stats.max) : Json(nullptr);
    line[prefix + "mean"] = r ? Json(r->stats.mean) : Json(nullptr);
    if (sumsq)
      line[prefix + "sumsq"] = r ? Json(r->stats.sumSquares) : Json(nullptr);
  };
  stats("rms_", norm, true);
  line["rms_eps"] = orNull(f.rmsEps);
  line["rms_weight_dtype"] = orNull(f.rmsWeightDtype);
  line["rms_input_dtype"] = orNull(f.rmsInputDtype);

  stats("logits_", head, false);
  const bool logits = head && head->stats.isLogits;
  line["top1_id"] = logits ? Json(head->stats.top1Id) : Json(nullptr);
  line["top1_logit"] = logits ? Json(head->stats.top1Logit) : Json(nullptr);
  line["top2_id"] = logits ? Json(head->stats.top2Id) : Json(nullptr);
  line["top2_logit"] = logits ? Json(head->stats.top2Logit) : Json(nullptr);
  line["gap"] = logits ? Json(head->stats.gap) : Json(nullptr);

  line["lm_head_route"] = orNull(f.lmHeadRoute);
  line["lm_head_quant_mode"] = orNull(f.lmHeadQuantMode);
  line["lm_head_layout_used"] = orNull(f.lmHeadLayoutUsed);
  line["lm_head_dtype_a"] = orNull(f.lmHeadDtypeA);
  line["lm_head_dtype_b"] = orNull(f.lmHeadDtypeB);
  line["lm_head_accum_dtype"] = orNull(f.lmHeadAccumDtype);
  line["lm_head_scales_hash"] =
      f.lmHeadScalesHash ? Json(formatFnv1a64(*f.lmHeadScalesHash)) : Json(nullptr);

  std::optional<ProbeResult> probed;
  if (options_.cpuProbe && hasHidden && logits && !head->output.empty())
    probed = probe(phase).probe(norm->input, head->output, head->stats.top1Id);
  line["cpu_probe_top1_id"] = probed ? Json(probed->top1Id) : Json(nullptr);
  line["cpu_probe_top1_logit"] = probed ? Json(probed->top1Logit) : Json(nullptr);
  line["cpu_probe_agrees_gpu"] = probed ? Json(probed->agrees) : Json(nullptr);
  line["cpu_probe_max_abs_diff"] = probed ? number(probed->maxAbsDiff) : Json(nullptr);
  line["cpu_probe_weights"] = probed ? Json(probe(phase).lmHeadSource()) : Json(nullptr);

  std::optional<RmsVerifyResult> verified;
  if (options_.rmsVerify && hasHidden && !norm->output.empty())
    verified = probe(phase).verifyRms(norm->input, norm->output);
  line["rms_verify_max_abs_diff"] = verified ? number(verified->maxAbsDiff) : Json(nullptr);
  line["rms_verify_ok"] = verified ? Json(verified->ok) : Json(nullptr);

  // Delta: decode at position N against a prefill of the same N+1 tokens.
  Json delta = {{"delta_hidden_max_abs_diff", nullptr},
                {"delta_rms_max_abs_diff", nullptr},
                {"delta_max_abs_diff", nullptr},
                {"delta_top1_agrees", nullptr},
                {"delta_prefill_top1_id", nullptr},
                {"delta_agrees", nullptr}};
  std::map<std::string, double> extraDeltas;
  if (options_.delta && !prefill) {
    if (!scratch_)
      scratch_ = std::make_unique<Session>(session_.bundle(), session_.options());
    scratch_->reset();
    scratch_->prefill(session_.tokens());
    const std::vector<AuditRecord> &reference = scratch_->audits();
    bool agrees = true;
    auto compare = [&](std::span<const float> decoded, std::span<const float> prefilled) {
      const double diff = maxAbsDiff(decoded, prefilled);
      agrees = agrees && diff <= kDeltaTolerance * magnitudeOf(prefilled);
      return diff;
    };
    const AuditRecord *refNorm = findRecord(reference, bundle::kFinalRmsNormPoint);
    const AuditRecord *refHead = findRecord(reference, bundle::kLmHeadPoint);
    if (hasHidden && refNorm && !refNorm->input.empty())
      delta["delta_hidden_max_abs_diff"] = number(compare(norm->input, refNorm->input));
    if (norm && refNorm)
      delta["delta_rms_max_abs_diff"] = number(compare(norm->output, refNorm->output));
    if (logits && refHead) {
      delta["delta_max_abs_diff"] = number(compare(head->output, refHead->output));
      const bool top1 = top1Agrees(refHead->output, head->stats.top1Id,
                                   kDeltaTolerance * magnitudeOf(refHead->output));
      agrees = agrees && top1;
      delta["delta_top1_agrees"] = top1;
      delta["delta_prefill_top1_id"] = refHead->stats.top1Id;
    }
    for (const AuditRecord &r : records)
      if (r.point != bundle::kFinalRmsNormPoint && r.point != bundle::kLmHeadPoint)
        if (const AuditRecord *ref = findRecord(reference, r.point))
          extraDeltas[prefixOf(r.point)] = compare(r.output, ref->output);
    delta["delta_agrees"] = agrees;
  }
  for (auto &[key, value] : delta.items())
    line[key] = value;

  for (const AuditRecord &r : records) {
    if (r.point == bundle::kFinalRmsNormPoint || r.point == bundle::kLmHeadPoint)
      continue;
    const std::string prefix = prefixOf(r.point);
    stats(prefix, &r, true);
    if (options_.delta && !prefill)
      line["delta_" + prefix + "max_abs_diff"] =
          extraDeltas.count(prefix) ? number(extraDeltas[prefix]) : Json(nullptr);
  }

  const std::vector<std::string> &routes = session_.options().forceRoutes;
  line["forced_routes"] = routes.empty() ? Json(nullptr) : Json(routes);
  line["injected_fault"] = orNull(session_.options().injectFault);
  // Token pieces in `prompt` may split a character: replace, never fail.
  return line.dump(-1, ' ', false, Json::error_handler_t::replace);
}

} // namespace greta::engine
