//===- cpu_program.cpp - A bundle's two phases, ready to run on the CPU ----===//
#include "runtime/cpu/cpu_program.h"

#include "runtime/bundle/bundle.h"
#include "runtime/bundle/kernel_families.h"
#include "runtime/bundle/manifest_validator.h"
#include "runtime/cpu/kernel_registry.h"
#include "runtime/support/checked_math.h"
#include "runtime/support/error.h"
#include "runtime/support/memory_budget.h"

#include <cstring>
#include <new>
#include <set>

namespace greta::cpu {

CpuProgram::CpuProgram(const bundle::Bundle &bundle, const CpuProgramOptions &options)
    : bundle_(bundle), options_(options), pool_(options.threads) {
  if (options_.context == 0 || options_.maxBatch == 0)
    fail("{}: the CPU program needs a context and a batch of at least 1 (got {} and {})",
         bundle.dir(), options_.context, options_.maxBatch);
  allocateBuffers();
  prefill_ = prepare(bundle::PhaseKind::Prefill);
  decode_ = prepare(bundle::PhaseKind::Decode);
}

CpuProgram::~CpuProgram() = default;

void CpuProgram::allocateBuffers() {
  // Sizes first, so the total is checked against the memory available before anything is
  // allocated (memory_budget.h: an overcommitted zero-fill would be killed without a message).
  struct Sized {
    const bundle::BufferSpec *spec;
    uint64_t rows, bytes;
    std::string what;
  };
  std::vector<Sized> sized;
  for (const bundle::BufferSpec &spec : bundle_.manifest().buffers) {
    const uint64_t rows = spec.rows.rowsIn(options_.maxBatch, options_.context);
    std::string what = fmt::format("buffer '{}' ({} rows x {} cols)", spec.name, rows, spec.cols);
    const uint64_t bytes =
        checkedMul(checkedMul(rows, spec.cols, what), bundle::bytesOf(spec.dtype), what);
    bufferBytes_ = checkedAdd(bufferBytes_, bytes, "total buffer size");
    sized.push_back({&spec, rows, bytes, std::move(what)});
  }
  requireAvailableMemory(
      bufferBytes_,
      fmt::format("{}: {} CPU buffers (KV cache of {} tokens included)", bundle_.dir(),
                  sized.size(), options_.context),
      "a smaller --ctx needs less");

  for (Sized &buffer : sized) {
    std::vector<float> storage;
    try {
      storage.resize((buffer.bytes + sizeof(float) - 1) / sizeof(float));
    } catch (const std::bad_alloc &) {
      fail("{}: cannot allocate {} bytes for {}; a smaller --ctx needs less", bundle_.dir(),
           buffer.bytes, buffer.what);
    } catch (const std::length_error &) {
      fail("{}: {} bytes for {} exceed what this machine can allocate; a smaller --ctx needs less",
           bundle_.dir(), buffer.bytes, buffer.what);
    }
    buffers_.push_back(std::make_unique<CpuBuffer>(*buffer.spec, buffer.rows, std::move(storage)));
    bufferIndex_[buffer.spec->name] = buffers_.back().get();
  }
}

CpuBuffer &CpuProgram::buffer(std::string_view name) {
  auto it = bufferIndex_.find(name);
  if (it == bufferIndex_.end())
    fail("{}: no buffer named '{}'", bundle_.dir(), name);
  return *it->second;
}

namespace {

/// Per launch of `plan`: true when everything it writes is read later in the phase only
/// through binary16 copies (x_f16, weight_f16, ...: bundle::binary16SourceOf), as cast_f16's
/// and dequant_f16's results are. The CPU's products read the originals, so nothing it computes
/// depends on these launches and run() skips them: on an 8B model decoding every weight to
/// binary16 would cost a CPU prefill as much as its products. runLaunch() still runs them (the
/// kernel tests compare them with the GPU's). KV caches outlive the run, and audit records,
/// audited buffers and logits are read by the runtime: a launch writing one always runs.
std::vector<bool> unreadByCpu(const bundle::Manifest &m, const bundle::PhasePlan &plan) {
  std::set<std::string, std::less<>> readLater; // by the launches after the current one
  for (const bundle::AuditPoint &audit : plan.audits)
    readLater.insert({audit.buffer, audit.input});
  readLater.insert(plan.logits);
  std::vector<bool> skipped(plan.launches.size(), false);
  for (size_t i = plan.launches.size(); i-- > 0;) {
    const bundle::Launch &launch = plan.launches[i];
    const bundle::FamilySpec &family = *bundle::findFamily(m.findKernel(launch.kernel)->family);
    bool writesAny = false, readByCpu = false;
    for (const bundle::ArgSpec &spec : family.args) {
      auto written = launch.args.find(std::string(spec.name));
      if (spec.isWeight || spec.access == bundle::Access::Read || written == launch.args.end())
        continue;
      const bundle::BufferKind kind = m.findBuffer(written->second)->kind;
      writesAny = true;
      readByCpu |= (kind != bundle::BufferKind::Activation && kind != bundle::BufferKind::Scratch) ||
                   readLater.count(written->second);
    }
    skipped[i] = writesAny && !readByCpu;
    for (const bundle::ArgSpec &spec : family.args) {
      auto read = launch.args.find(std::string(spec.name));
      if (!spec.isWeight && spec.access != bundle::Access::Write && read != launch.args.end() &&
          bundle::binary16SourceOf(spec.name).empty())
        readLater.insert(read->second);
    }
  }
  return skipped;
}

} // namespace

CpuProgram::PreparedPhase CpuProgram::prepare(bundle::PhaseKind kind) {
  const bundle::Manifest &m = bundle_.manifest();
  const bundle::PhasePlan &plan = this->plan(kind);
  PreparedPhase phase;
  for (size_t i = 0; i < plan.launches.size(); ++i) {
    const bundle::Launch &launch = plan.launches[i];
    const bundle::KernelSpec &kernel = *m.findKernel(launch.kernel);
    LaunchBinding binding(kernel,
                          fmt::format("{}: phases.{}.launches[{}] (kernel '{}', family {})",
                                      bundle_.dir(), nameOf(kind), i, kernel.name, kernel.family),
                          [this](std::string_view name) { return viewWeight(bundle_, name); });
    std::map<std::string, WeightView> &weights = phase.weights.emplace_back();
    for (const auto &[arg, value] : launch.args) {
      if (auto name = bundle::weightRefName(value)) {
        WeightView weight = viewWeight(bundle_, *name);
        if (options_.substitute)
          if (auto other = options_.substitute(kind, i, arg, weight))
            weight = std::move(*other);
        weights[arg] = weight;
        binding.bindWeight(arg, std::move(weight));
      } else {
        binding.bindBuffer(arg, &buffer(value));
      }
    }
    CpuLaunchFactory factory = findCpuFactory(kernel.family);
    if (!factory)
      fail("{}: the CPU backend does not run family {}", binding.label(), kernel.family);
    phase.launches.push_back(factory(binding));
    if (kernel.family == "audit_stats")
      phase.auditLaunches.emplace_back(i, &binding.buffer("stats"));
  }
  phase.logits = &buffer(plan.logits);
  phase.skipped = unreadByCpu(m, plan);
  return phase;
}

std::span<int32_t> CpuProgram::tokens() {
  CpuBuffer &b = buffer(bundle::kTokensBuffer);
  return {b.i32(), static_cast<size_t>(b.rowsAllocated())};
}

std::span<int32_t> CpuProgram::positions() {
  CpuBuffer &b = buffer(bundle::kPositionsBuffer);
  return {b.i32(), static_cast<size_t>(b.rowsAllocated())};
}

void CpuProgram::checkRunSize(bundle::PhaseKind kind, uint64_t seq) const {
  const bool prefill = kind == bundle::PhaseKind::Prefill;
  if (seq == 0 || (prefill && seq > options_.maxBatch) || (!prefill && seq != 1))
    fail("{}: {} run of {} tokens (prefill takes 1..{}, decode 1)", bundle_.dir(), nameOf(kind),
         seq, options_.maxBatch);
}

void CpuProgram::run(bundle::PhaseKind kind, uint64_t seq, const LaunchObserver &observer) {
  checkRunSize(kind, seq);
  const bool prefill = kind == bundle::PhaseKind::Prefill;
  const RunContext context{seq, &pool_};
  const PreparedPhase &phase = prefill ? prefill_ : decode_;
  for (size_t i = 0; i < phase.launches.size(); ++i) {
    if (!phase.skipped[i])
      phase.launches[i]->run(context);
    if (observer)
      observer(i);
  }
}

void CpuProgram::runLaunch(bundle::PhaseKind kind, size_t launchIndex, uint64_t seq) {
  checkRunSize(kind, seq);
  const PreparedPhase &phase = kind == bundle::PhaseKind::Prefill ? prefill_ : decode_;
  if (launchIndex >= phase.launches.size())
    fail("{}: {} has {} launches; there is no launch {}", bundle_.dir(), nameOf(kind),
         phase.launches.size(), launchIndex);
  phase.launches[launchIndex]->run(RunContext{seq, &pool_});
}

std::span<uint8_t> CpuProgram::bufferBytes(std::string_view name) {
  CpuBuffer &b = buffer(name);
  return {b.bytes(), static_cast<size_t>(b.rowsAllocated() * b.cols() *
                                         bundle::bytesOf(b.spec().dtype))};
}

const bundle::PhasePlan &CpuProgram::plan(bundle::PhaseKind kind) const {
  const bundle::PhasePlan *given =
      kind == bundle::PhaseKind::Prefill ? options_.prefillPlan : options_.decodePlan;
  return given ? *given : bundle_.manifest().phase(kind);
}

std::span<const float> CpuProgram::lastRow(std::string_view name, uint64_t seq) {
  CpuBuffer &b = buffer(name);
  if (b.spec().dtype != bundle::BufferDType::F32)
    fail("{}: buffer '{}' is {}, not f32", bundle_.dir(), name, nameOf(b.spec().dtype));
  return {b.lastRows(seq, 1), static_cast<size_t>(b.cols())};
}

std::optional<WeightView> CpuProgram::boundWeight(bundle::PhaseKind kind, size_t launchIndex,
                                                  const std::string &arg) const {
  return findBoundWeight((kind == bundle::PhaseKind::Prefill ? prefill_ : decode_).weights,
                         launchIndex, arg);
}

std::span<const float> CpuProgram::logits(bundle::PhaseKind kind) {
  CpuBuffer *b = (kind == bundle::PhaseKind::Prefill ? prefill_ : decode_).logits;
  return {b->lastRows(1, 1), static_cast<size_t>(b->cols())};
}

std::vector<AuditResult> CpuProgram::audits(bundle::PhaseKind kind) {
  const bundle::PhasePlan &plan = this->plan(kind);
  std::vector<AuditResult> results;
  for (const auto &[index, stats] :
       (kind == bundle::PhaseKind::Prefill ? prefill_ : decode_).auditLaunches) {
    AuditResult result;
    result.launchIndex = index;
    result.point =
        bundle::stringParam(*bundle_.manifest().findKernel(plan.launches[index].kernel), "point");
    std::memcpy(&result.record, stats->bytes(), sizeof result.record);
    results.push_back(std::move(result));
  }
  return results;
}

} // namespace greta::cpu
