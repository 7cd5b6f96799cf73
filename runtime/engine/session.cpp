//===- session.cpp - One conversation with a compiled model ----------------===//
#include "runtime/engine/session.h"

#include "runtime/cpu/cpu_program.h"
#include "runtime/support/error.h"

#include <algorithm>
#include <limits>

namespace greta::engine {
namespace {

cpu::CpuProgramOptions programOptions(const bundle::Bundle &bundle, const SessionOptions &options) {
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
  return result;
}

} // namespace

Session::Session(const bundle::Bundle &bundle, const SessionOptions &options)
    : bundle_(bundle),
      program_(std::make_unique<cpu::CpuProgram>(bundle, programOptions(bundle, options))) {}

Session::~Session() = default;

uint64_t Session::context() const { return program_->context(); }
uint64_t Session::maxBatch() const { return program_->maxBatch(); }
unsigned Session::threads() const { return program_->threads(); }

void Session::reset() {
  position_ = 0;
  decodeSteps_ = 0;
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
    program_->run(bundle::PhaseKind::Prefill, seq);
    position_ += seq;
  }
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
  program_->run(bundle::PhaseKind::Decode, 1);
  ++position_;
  collectAudits(bundle::PhaseKind::Decode, 1);
  ++decodeSteps_;
  return program_->logits(bundle::PhaseKind::Decode);
}

void Session::collectAudits(bundle::PhaseKind phase, uint64_t seq) {
  audits_.clear();
  const bool prefill = phase == bundle::PhaseKind::Prefill;
  for (cpu::AuditResult &result : program_->audits(phase)) {
    AuditRecord record;
    record.phase = prefill ? "prefill_last" : decodeSteps_ == 0 ? "decode0" : "decodeN";
    record.step = prefill ? 0 : decodeSteps_;
    record.tokensTotal = position_;
    record.seqLen = seq;
    record.posId = position_ - 1;
    record.point = std::move(result.point);
    record.stats = result.record;
    audits_.push_back(std::move(record));
  }
}

} // namespace greta::engine
