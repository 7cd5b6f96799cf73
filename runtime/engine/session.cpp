//===- session.cpp - One conversation with a compiled model ----------------===//
#include "runtime/engine/session.h"

#include "runtime/engine/fault_injection.h"
#include "runtime/engine/route_selection.h"
#include "runtime/support/error.h"

#include <algorithm>
#include <limits>

namespace greta::engine {
namespace {

cpu::CpuProgramOptions programOptions(const bundle::Bundle &bundle, const SessionOptions &options,
                                      const bundle::PhasePlan *prefill,
                                      const bundle::PhasePlan *decode,
                                      const FaultInjector *faults) {
  const uint64_t modelContext = bundle.manifest().model.context;
  cpu::CpuProgramOptions result;
  result.context =
      options.context != 0 ? options.context : std::min(modelContext, kDefaultContextCap);
  if (result.context > modelContext)
    fail("{}: context {} (--ctx) exceeds the model's context length {}", bundle.dir(),
         result.context, modelContext);
  if (result.context > static_cast<uint64_t>(std::numeric_limits<int32_t>::max()))
    fail("{}: context {} exceeds the largest position the plans' i32 positions hold ({})",
         bundle.dir(), result.context, std::numeric_limits<int32_t>::max());
  result.maxBatch = options.maxBatch != 0 ? std::min(options.maxBatch, result.context)
                                          : std::min(result.context, kDefaultMaxBatch);
  result.threads = options.threads;
  result.prefillPlan = prefill;
  result.decodePlan = decode;
  if (faults)
    result.substitute = faults->substitute();
  return result;
}

std::unique_ptr<FaultInjector> makeFaults(const bundle::Bundle &bundle,
                                          const SessionOptions &options,
                                          const bundle::PhasePlan &prefill,
                                          const bundle::PhasePlan &decode) {
  if (options.injectFault.empty())
    return nullptr;
  auto fault = parseFault(options.injectFault);
  if (!fault)
    fail("--inject-fault '{}': unknown fault (faults: {})", options.injectFault, faultNames());
  return std::make_unique<FaultInjector>(bundle, *fault, prefill, decode);
}

} // namespace

Session::Session(const bundle::Bundle &bundle, const SessionOptions &options)
    : bundle_(bundle), options_(options),
      prefillPlan_(selectPlan(bundle.manifest(), bundle::PhaseKind::Prefill, options.forceRoutes,
                              bundle.dir())),
      decodePlan_(selectPlan(bundle.manifest(), bundle::PhaseKind::Decode, options.forceRoutes,
                             bundle.dir())),
      faults_(makeFaults(bundle, options, plan(bundle::PhaseKind::Prefill),
                         plan(bundle::PhaseKind::Decode))),
      program_((options.executor ? options.executor : makeCpuExecutor)(
          bundle, programOptions(bundle, options, prefillPlan_.get(), decodePlan_.get(),
                                 faults_.get()))) {}

const bundle::PhasePlan &Session::plan(bundle::PhaseKind phase) const {
  const bundle::PhasePlan *selected =
      phase == bundle::PhaseKind::Prefill ? prefillPlan_.get() : decodePlan_.get();
  return selected ? *selected : bundle_.manifest().phase(phase);
}

std::optional<cpu::WeightView> Session::boundWeight(bundle::PhaseKind phase, size_t launchIndex,
                                                    const std::string &arg) const {
  return program_->boundWeight(phase, launchIndex, arg);
}

std::string Session::auditInputBuffer(const bundle::Manifest &manifest,
                                      const bundle::PhasePlan &plan,
                                      const bundle::AuditPoint &point) {
  if (!point.input.empty())
    return point.input;
  if (point.launchIndex >= plan.launches.size())
    return "";
  const bundle::Launch &launch = plan.launches[point.launchIndex];
  const bundle::KernelSpec *kernel = manifest.findKernel(launch.kernel);
  auto arg = [&](const char *name) {
    auto it = launch.args.find(name);
    return it == launch.args.end() ? std::string() : it->second;
  };
  if (!kernel)
    return "";
  if (kernel->family == "add_rms_norm")
    return arg("sum");
  if (kernel->family == "rms_norm" && arg("x") != arg("out"))
    return arg("x");
  return "";
}

Session::~Session() = default;

uint64_t Session::context() const { return program_->context(); }
uint64_t Session::maxBatch() const { return program_->maxBatch(); }
unsigned Session::threads() const { return program_->threads(); }

void Session::reset() {
  position_ = 0;
  decodeSteps_ = 0;
  tokens_.clear();
  audits_.clear();
}

void Session::checkTokens(std::span<const int32_t> tokens) const {
  for (size_t i = 0; i < tokens.size(); ++i)
    if (tokens[i] < 0 || static_cast<uint64_t>(tokens[i]) >= vocab())
      fail("{}: token id {} (index {}) is outside the vocabulary of {} tokens", bundle_.dir(),
           tokens[i], i, vocab());
}

std::span<const float> Session::prefill(std::span<const int32_t> tokens) {
  if (tokens.empty())
    fail("{}: prefill needs at least one token", bundle_.dir());
  if (tokens.size() > context() - position_)
    fail("{}: a prompt of {} tokens at position {} does not fit the context of {} tokens "
         "({} free); nothing was truncated: shorten the prompt or raise --ctx",
         bundle_.dir(), tokens.size(), position_, context(), context() - position_);
  checkTokens(tokens);
  uint64_t seq = 0;
  for (size_t start = 0; start < tokens.size(); start += seq) {
    seq = std::min<uint64_t>(tokens.size() - start, maxBatch());
    std::span<int32_t> ids = program_->tokens();
    std::span<int32_t> positions = program_->positions();
    for (uint64_t s = 0; s < seq; ++s) {
      ids[s] = tokens[start + s];
      positions[s] = static_cast<int32_t>(position_ + s);
    }
    runPhase(bundle::PhaseKind::Prefill, seq);
    position_ += seq;
  }
  tokens_.insert(tokens_.end(), tokens.begin(), tokens.end());
  decodeSteps_ = 0;
  collectAudits(bundle::PhaseKind::Prefill, seq);
  return program_->logits(bundle::PhaseKind::Prefill);
}

std::span<const float> Session::decode(int32_t token) {
  if (position_ >= context())
    fail("{}: the context of {} tokens is full; start over or raise --ctx", bundle_.dir(),
         context());
  checkTokens({&token, 1});
  program_->tokens()[0] = token;
  program_->positions()[0] = static_cast<int32_t>(position_);
  runPhase(bundle::PhaseKind::Decode, 1);
  ++position_;
  tokens_.push_back(token);
  collectAudits(bundle::PhaseKind::Decode, 1);
  ++decodeSteps_;
  return program_->logits(bundle::PhaseKind::Decode);
}

void Session::runPhase(bundle::PhaseKind phase, uint64_t seq) {
  if (!options_.captureAuditRows) {
    program_->run(phase, seq);
    return;
  }
  // Rows are copied right after the point's launch: later launches may reuse the buffers.
  const bundle::PhasePlan &plan = this->plan(phase);
  captured_.assign(plan.audits.size(), AuditRecord{});
  program_->run(phase, seq, [&](size_t launchIndex) {
    for (size_t i = 0; i < plan.audits.size(); ++i) {
      const bundle::AuditPoint &point = plan.audits[i];
      if (point.launchIndex != launchIndex)
        continue;
      auto copy = [&](const std::string &buffer, std::vector<float> &row) {
        const std::span<const float> last = program_->lastRow(buffer, seq);
        row.assign(last.begin(), last.end());
      };
      copy(point.buffer, captured_[i].output);
      if (const std::string input = auditInputBuffer(bundle_.manifest(), plan, point);
          !input.empty())
        copy(input, captured_[i].input);
    }
  });
}

void Session::collectAudits(bundle::PhaseKind phase, uint64_t seq) {
  audits_.clear();
  const bool prefill = phase == bundle::PhaseKind::Prefill;
  const bundle::PhasePlan &plan = this->plan(phase);
  for (cpu::AuditResult &result : program_->audits(phase)) {
    AuditRecord record;
    record.phase = prefill ? "prefill_last" : decodeSteps_ == 0 ? "decode0" : "decodeN";
    record.step = prefill ? 0 : decodeSteps_;
    record.tokensTotal = position_;
    record.seqLen = seq;
    record.posId = position_ - 1;
    record.point = std::move(result.point);
    record.stats = result.record;
    if (options_.captureAuditRows)
      for (size_t i = 0; i < plan.audits.size(); ++i)
        if (plan.audits[i].point == record.point) {
          record.output = std::move(captured_[i].output);
          record.input = std::move(captured_[i].input);
        }
    audits_.push_back(std::move(record));
  }
}

} // namespace greta::engine
