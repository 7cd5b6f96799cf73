//===- hip_executor.cpp - A bundle's plans, run on the GPU -----------------===//
#include "runtime/hip/hip_executor.h"

#include "runtime/bundle/bundle.h"
#include "runtime/bundle/kernel_families.h"
#include "runtime/bundle/manifest_validator.h"
#include "runtime/hip/stream_schedule.h"
#include "runtime/support/error.h"
#include "runtime/support/fnv1a.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <limits>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

namespace greta::hip {
namespace {

/// Device allocations start at this alignment (weights are read with wide vector loads).
constexpr uint64_t kDeviceAlignment = 256;

uint64_t alignUp(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string readFile(const std::filesystem::path &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    fail("cannot read {}", path.string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

/// The code object `entry` of `kernel` names, checked against its recorded size and checksum.
std::vector<uint8_t> readCodeObject(const std::filesystem::path &dir,
                                    const bundle::KernelSpec &kernel,
                                    const bundle::CodeObjectEntry &entry) {
  const std::string bytes = readFile(dir / entry.file);
  Fnv1a64 hash;
  hash.update(std::span(reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size()));
  if (bytes.size() != entry.bytes || formatFnv1a64(hash.value()) != entry.checksum)
    fail("{}: kernel '{}': code object '{}' has {} bytes, checksum {}; the manifest says {} bytes, "
         "{}: the bundle is damaged (compile it again)",
         dir.string(), kernel.name, entry.file, bytes.size(), formatFnv1a64(hash.value()),
         entry.bytes, entry.checksum);
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

/// The code object the manifest records for `kernel` on `arch`, or null.
const bundle::CodeObjectEntry *codeObjectFor(const bundle::KernelSpec &kernel,
                                             std::string_view arch) {
  for (const bundle::CodeObjectEntry &entry : kernel.codeObjects)
    if (entry.target == arch)
      return &entry;
  return nullptr;
}

/// The params entry `name` as an integer (JSON integers only).
std::optional<int64_t> intParam(const bundle::KernelSpec &kernel, std::string_view name) {
  auto it = kernel.params.find(std::string(name));
  if (it == kernel.params.end())
    return std::nullopt;
  if (const int64_t *value = std::get_if<int64_t>(&it->second))
    return *value;
  return std::nullopt;
}

std::vector<std::string> splitFields(const std::string &text) {
  std::vector<std::string> fields;
  std::string field;
  std::istringstream in(text);
  while (std::getline(in, field, ','))
    if (!field.empty())
      fields.push_back(field);
  return fields;
}

} // namespace

/// One manifest buffer in the device arena.
struct HipExecutor::Slot {
  const bundle::BufferSpec *spec = nullptr;
  uint64_t rowsAllocated = 0;
  uint64_t rowBytes = 0;
  uint64_t offset = 0; ///< in the buffer arena
  uint8_t *device = nullptr;

  uint64_t bytes() const { return rowsAllocated * rowBytes; }
};

/// One field of a launch's Params struct.
struct HipExecutor::Field {
  enum class Kind { Buffer, Pointer, Rows, Ctx } kind = Kind::Pointer;
  Slot *slot = nullptr;                           ///< Buffer
  bundle::RowRule rule = bundle::RowRule::PerRow; ///< Buffer
  const void *pointer = nullptr;                  ///< Pointer (a weight, or null)
};

struct HipExecutor::PreparedLaunch {
  std::string label;
  hipFunction_t function = nullptr;
  unsigned block = 0;
  unsigned sharedBytes = 0; ///< dynamic shared memory (params.shared_bytes)
  std::vector<bundle::GridDim> grid;
  std::vector<Field> fields;
  const bundle::Launch *launch = nullptr;     ///< the plan's, for the profile's work counts
  const bundle::KernelSpec *kernel = nullptr; ///< for the profile
  Slot *rowsSlot = nullptr; ///< the family's row argument: its rows in the phase are S
  mutable std::vector<uint8_t> params;
};

struct HipExecutor::PreparedPhase {
  bundle::PhaseKind kind = bundle::PhaseKind::Prefill;
  std::vector<PreparedLaunch> launches;
  cpu::LaunchWeights weights; // per launch, by argument
  struct AuditLaunch {
    size_t launchIndex = 0;
    std::string point;
    Slot *stats = nullptr;
    size_t hostOffset = 0; ///< in hostOutputs_
  };
  std::vector<AuditLaunch> audits;
  Slot *logits = nullptr;
  size_t logitsHostOffset = 0; ///< in hostOutputs_
  /// The two-stream schedule (empty: every launch on the main stream).
  std::vector<StreamStep> steps;
  std::vector<std::optional<Event>> signals; ///< per launch: recorded after it where it signals
  std::optional<Event> mainReady; ///< the main stream's work before the phase (the side waits)
  std::optional<Event> sideDone;  ///< the side stream's last launch (the main waits at the end)
};

namespace {

/// Rows of a buffer of `rowsAllocated` rows in a run of `seq` tokens (a KV cache: all of them).
uint64_t rowsIn(const bundle::BufferSpec &spec, uint64_t rowsAllocated, uint64_t seq) {
  return spec.rows.rowsIn(seq, rowsAllocated);
}

} // namespace

HipExecutor::HipExecutor(const bundle::Bundle &bundle, const HipPlatform &platform,
                         const engine::ExecutorOptions &options,
                         const HipExecutorOptions &hipOptions)
    : bundle_(bundle), platform_(platform), api_(*platform.api), options_(options),
      hipOptions_(hipOptions),
      // The main stream's blocks go first: prefill's side stream (weight decodes) fills what
      // the products leave free instead of holding the SMs the next product waits for.
      stream_((GRETA_HIP_CHECK(api_, hipSetDevice(platform.device.ordinal)), api_),
              StreamPriority::High) {
  profiling_ = hipOptions_.profile;
  if (options_.context == 0 || options_.maxBatch == 0)
    fail("{}: the HIP executor needs a context and a batch of at least 1 (got {} and {})",
         bundle.dir(), options_.context, options_.maxBatch);
  if (options_.context > static_cast<uint64_t>(std::numeric_limits<int32_t>::max()) ||
      options_.maxBatch > static_cast<uint64_t>(std::numeric_limits<int32_t>::max()))
    fail("{}: context {} / batch {} exceed the kernels' i32 row counts", bundle.dir(),
         options_.context, options_.maxBatch);
  allocate();
  uploadWeights();
  compileKernels();
  prefill_ = std::make_unique<PreparedPhase>(prepare(bundle::PhaseKind::Prefill));
  decode_ = std::make_unique<PreparedPhase>(prepare(bundle::PhaseKind::Decode));

  // Host side of each step: the inputs the session writes, the logits and records read back.
  hostInputs_ = PinnedHostBuffer(api_, 2 * options_.maxBatch * sizeof(int32_t));
  std::memset(hostInputs_.data(), 0, hostInputs_.size());
  size_t outputBytes = 0;
  for (PreparedPhase *phase : {prefill_.get(), decode_.get()}) {
    phase->logitsHostOffset = outputBytes;
    outputBytes += alignUp(phase->logits->rowBytes, 64);
    for (PreparedPhase::AuditLaunch &audit : phase->audits) {
      audit.hostOffset = outputBytes;
      outputBytes += alignUp(audit.stats->rowBytes, 64);
    }
  }
  hostOutputs_ = PinnedHostBuffer(api_, outputBytes);
  std::memset(hostOutputs_.data(), 0, hostOutputs_.size());
  if (hipOptions_.poison) {
    GRETA_HIP_CHECK(api_,
                    hipMemsetAsync(bufferArena_.data(), 0xff, bufferArena_.size(), stream_.get()));
    stream_.synchronize();
  }
}

HipExecutor::~HipExecutor() {
  // Nothing may still be running on buffers about to be freed.
  if (sideStream_)
    (void)api_.hipStreamSynchronize(sideStream_->get());
  if (stream_.get())
    (void)api_.hipStreamSynchronize(stream_.get());
  if (hipOptions_.profile)
    printProfile();
}

void HipExecutor::printProfile() const {
  const double total = profile_.totalSeconds();
  std::fprintf(stderr, "greta-hip-profile: %s\n", platform_.device.name.c_str());
  std::fprintf(stderr, "greta-hip-profile: %-52s %8s %10s %9s %6s %10s %8s %9s\n", "phase kernel",
               "launches", "total ms", "avg us", "share", "weights MB", "GB/s", "GFLOP/s");
  for (const engine::KernelTiming &row : profile_.kernels()) {
    const std::string name = row.phase + " " + row.kernel;
    std::fprintf(stderr, "greta-hip-profile: %-52s %8llu %10.3f %9.1f %5.1f%% %10.2f %8.0f %9.0f\n",
                 name.c_str(), static_cast<unsigned long long>(row.launches), 1e3 * row.seconds,
                 1e6 * row.averageSeconds(), total > 0 ? 100.0 * row.seconds / total : 0.0,
                 static_cast<double>(row.weightBytes) / static_cast<double>(row.launches) / 1e6,
                 row.bytesPerSecond() / 1e9, row.flopsPerSecond() / 1e9);
  }
}

std::string HipExecutor::description() const {
  const auto &kernels = bundle_.manifest().kernels;
  const auto early = std::count_if(kernels.begin(), kernels.end(),
                                   [](const bundle::KernelSpec &k) { return k.earlyStart; });
  return fmt::format("hip: {}; weights {}, buffers {}, uploaded in {:.2f} s; {} kernels ({} from "
                     "the disk cache, {} ahead of time{}) in {:.2f} s; early start {}",
                     platform_.summary(), formatBytes(stats_.weightBytes),
                     formatBytes(stats_.bufferBytes), stats_.uploadSeconds, stats_.kernels,
                     stats_.cacheHits, stats_.aheadOfTime,
                     stats_.staleCodeObjects
                         ? fmt::format(", {} stale code objects compiled afresh",
                                       stats_.staleCodeObjects)
                         : "",
                     stats_.compileSeconds,
                     hipOptions_.earlyStart
                         ? fmt::format("allowed for {} of {} kernels", early, kernels.size())
                         : std::string("off"));
}

const bundle::PhasePlan &HipExecutor::plan(bundle::PhaseKind kind) const {
  const bundle::PhasePlan *given =
      kind == bundle::PhaseKind::Prefill ? options_.prefillPlan : options_.decodePlan;
  return given ? *given : bundle_.manifest().phase(kind);
}

HipExecutor::Slot &HipExecutor::slot(std::string_view name) {
  auto it = slotIndex_.find(name);
  if (it == slotIndex_.end())
    fail("{}: no buffer named '{}'", bundle_.dir(), name);
  return *it->second;
}

void HipExecutor::allocate() {
  uint64_t total = 0;
  for (const bundle::BufferSpec &spec : bundle_.manifest().buffers) {
    auto s = std::make_unique<Slot>();
    s->spec = &spec;
    s->rowsAllocated = spec.rows.rowsIn(options_.maxBatch, options_.context);
    s->rowBytes = spec.cols * bundle::bytesOf(spec.dtype);
    s->offset = total;
    total = alignUp(total + std::max<uint64_t>(s->bytes(), 4), kDeviceAlignment);
    slotIndex_[spec.name] = s.get();
    slots_.push_back(std::move(s));
  }
  stats_.bufferBytes = total;
  bufferArena_ = DeviceBuffer(
      api_, total,
      fmt::format("{}: {} buffers (activations for {} tokens, KV caches for {} tokens)",
                  bundle_.dir(), slots_.size(), options_.maxBatch, options_.context));
  for (auto &s : slots_)
    s->device = static_cast<uint8_t *>(bufferArena_.data()) + s->offset;
}

void HipExecutor::uploadWeights() {
  const auto start = std::chrono::steady_clock::now();
  // Only the weights the chosen plans read.
  std::set<std::string> used;
  for (bundle::PhaseKind kind : {bundle::PhaseKind::Prefill, bundle::PhaseKind::Decode}) {
    for (const bundle::Launch &launch : plan(kind).launches) {
      for (const auto &[arg, value] : launch.args)
        if (auto name = bundle::weightRefName(value))
          used.insert(std::string(*name));
      const bundle::KernelSpec &kernel = *bundle_.manifest().findKernel(launch.kernel);
      if (auto freqs = bundle::ropeFreqsParam(kernel))
        used.insert(*freqs);
    }
  }
  std::vector<std::pair<std::string, uint64_t>> offsets;
  uint64_t total = 0;
  for (const std::string &name : used) {
    offsets.emplace_back(name, total);
    total =
        alignUp(total + std::max<uint64_t>(bundle_.weightBytes(name).size(), 4), kDeviceAlignment);
  }
  stats_.weightBytes = total;
  try {
    weightArena_ = DeviceBuffer(
        api_, total, fmt::format("{}: weights ({} tensors)", bundle_.dir(), used.size()));
  } catch (const HipError &error) {
    if (!error.isOutOfMemory())
      throw;
    throw HipError(fmt::format("{} (the buffers already took {}; a smaller --ctx needs less for "
                               "the KV caches)",
                               error.what(), formatBytes(stats_.bufferBytes)),
                   error.code(), error.call(), false);
  }
  for (const auto &[name, offset] : offsets) {
    const std::span<const uint8_t> bytes = bundle_.weightBytes(name);
    uint8_t *device = static_cast<uint8_t *>(weightArena_.data()) + offset;
    GRETA_HIP_CHECK(api_, hipMemcpy(device, bytes.data(), bytes.size(), hipMemcpyHostToDevice));
    weightPointers_[name] = device;
  }
  stats_.uploadSeconds = secondsSince(start);
}

void HipExecutor::compileKernels() {
  const auto start = std::chrono::steady_clock::now();
  std::vector<const bundle::KernelSpec *> kernels;
  std::set<std::string> seen;
  for (bundle::PhaseKind kind : {bundle::PhaseKind::Prefill, bundle::PhaseKind::Decode})
    for (const bundle::Launch &launch : plan(kind).launches)
      if (seen.insert(launch.kernel).second)
        kernels.push_back(bundle_.manifest().findKernel(launch.kernel));

  const KernelTarget target = KernelTarget::of(platform_);
  const KernelCompiler compiler(platform_.compiler, target, hipOptions_.compiler);
  const std::filesystem::path dir(bundle_.dir());
  std::vector<std::vector<uint8_t>> codes(kernels.size());
  std::vector<CacheOutcome> outcomes(kernels.size(), CacheOutcome::Disabled);
  std::vector<char> aheadOfTime(kernels.size(), 0); // not vector<bool>: written concurrently
  std::vector<char> stale(kernels.size(), 0);
  std::vector<std::exception_ptr> errors(kernels.size());
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i; (i = next.fetch_add(1)) < kernels.size();) {
      const bundle::KernelSpec &kernel = *kernels[i];
      try {
        if (kernel.source.empty())
          fail("{}: kernel '{}' (family {}) has no HIP source; the HIP backend cannot run it",
               bundle_.dir(), kernel.name, kernel.family);
        const KernelSource source{kernel.name, readFile(dir / kernel.source), {}};
        // An ahead-of-time code object the manifest records for this exact target, used only
        // while it was compiled from what this runtime would compile (source, prelude, options:
        // its key); a stale one is compiled afresh here.
        if (const bundle::CodeObjectEntry *entry = codeObjectFor(kernel, target.arch)) {
          if (entry->key == compiler.codeObjectKey(source)) {
            codes[i] = readCodeObject(dir, kernel, *entry);
            aheadOfTime[i] = true;
            continue;
          }
          stale[i] = true;
        }
        CompiledKernel compiled = compiler.compile(source);
        codes[i] = std::move(compiled.code);
        outcomes[i] = compiled.cache;
      } catch (...) {
        errors[i] = std::current_exception();
      }
    }
  };
  unsigned threads = hipOptions_.compileThreads ? hipOptions_.compileThreads
                                                : std::max(1u, std::thread::hardware_concurrency());
  threads = static_cast<unsigned>(std::min<size_t>(threads, kernels.size()));
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t)
    pool.emplace_back(work);
  work();
  for (std::thread &thread : pool)
    thread.join();
  for (const std::exception_ptr &error : errors)
    if (error)
      std::rethrow_exception(error);

  modules_.reserve(kernels.size());
  for (size_t i = 0; i < kernels.size(); ++i) {
    modules_.emplace_back(api_, codes[i], kernels[i]->name);
    functions_[kernels[i]->name] = modules_.back().function(kernels[i]->entry.c_str());
    stats_.cacheHits += outcomes[i] == CacheOutcome::Hit;
    stats_.aheadOfTime += aheadOfTime[i];
    stats_.staleCodeObjects += stale[i];
  }
  stats_.kernels = kernels.size();
  stats_.compileSeconds = secondsSince(start);
}

unsigned HipExecutor::dynamicSharedBytes(const bundle::KernelSpec &kernel,
                                         const std::string &label) {
  if (!kernel.params.count("shared_bytes"))
    return 0;
  const std::optional<int64_t> bytes = intParam(kernel, "shared_bytes");
  const int limit = platform_.device.sharedMemoryPerBlockOptin;
  if (!bytes || *bytes < 0 || *bytes > limit)
    fail("{}: params.shared_bytes (dynamic shared memory) must be an integer in [0, {}] on {}",
         label, limit, platform_.device.name);
  // Each function opts in once (NVIDIA caps a block at 48 KiB without it).
  if (*bytes > 0 && allowedShared_.insert(kernel.name).second)
    GRETA_HIP_CHECK(api_, hipModuleFunctionAllowDynamicShared(functions_.at(kernel.name),
                                                              static_cast<int>(*bytes)));
  return static_cast<unsigned>(*bytes);
}

HipExecutor::PreparedPhase HipExecutor::prepare(bundle::PhaseKind kind) {
  const bundle::Manifest &m = bundle_.manifest();
  const bundle::PhasePlan &plan = this->plan(kind);
  PreparedPhase phase;
  phase.kind = kind;
  for (size_t i = 0; i < plan.launches.size(); ++i) {
    const bundle::Launch &launch = plan.launches[i];
    const bundle::KernelSpec &kernel = *m.findKernel(launch.kernel);
    const bundle::FamilySpec *family = bundle::findFamily(kernel.family);
    PreparedLaunch prepared;
    prepared.label = fmt::format("{}: phases.{}.launches[{}] (kernel '{}', family {})",
                                 bundle_.dir(), nameOf(kind), i, kernel.name, kernel.family);
    if (!family)
      fail("{}: unknown family", prepared.label);
    prepared.function = functions_.at(kernel.name);
    const std::optional<int64_t> block = intParam(kernel, "block");
    if (!block || *block < 1 || *block > platform_.device.maxThreadsPerBlock)
      fail("{}: params.block must be an integer in [1, {}] for the HIP backend", prepared.label,
           platform_.device.maxThreadsPerBlock);
    prepared.block = static_cast<unsigned>(*block);
    prepared.sharedBytes = dynamicSharedBytes(kernel, prepared.label);
    prepared.grid = launch.grid;
    if (prepared.grid.size() > 3)
      fail("{}: grid has {} dimensions; at most 3", prepared.label, prepared.grid.size());
    auto rowsArg = launch.args.find(std::string(family->rowsArg));
    if (rowsArg == launch.args.end() || bundle::weightRefName(rowsArg->second))
      fail("{}: its row argument '{}' is not a buffer", prepared.label, family->rowsArg);
    prepared.rowsSlot = &slot(rowsArg->second);

    auto paramFields = kernel.params.find("param_fields");
    if (paramFields == kernel.params.end() ||
        !std::holds_alternative<std::string>(paramFields->second))
      fail("{}: params.param_fields (the Params field order) is missing; recompile the bundle",
           prepared.label);
    std::map<std::string, cpu::WeightView> &weights = phase.weights.emplace_back();
    for (const std::string &name : splitFields(std::get<std::string>(paramFields->second))) {
      Field field;
      if (name == "rows") {
        field.kind = Field::Kind::Rows;
      } else if (name == "ctx") {
        field.kind = Field::Kind::Ctx;
      } else if (name == "freqs") {
        auto freqs = bundle::ropeFreqsParam(kernel);
        field.pointer = freqs ? weightPointers_.at(*freqs) : nullptr;
      } else {
        auto spec = std::find_if(family->args.begin(), family->args.end(),
                                 [&](const bundle::ArgSpec &a) { return a.name == name; });
        if (spec == family->args.end())
          fail("{}: param_fields names '{}', which is not an argument of family {}", prepared.label,
               name, kernel.family);
        auto arg = launch.args.find(name);
        if (arg == launch.args.end()) {
          field.pointer = nullptr; // an optional argument the launch does not give
        } else if (auto weight = bundle::weightRefName(arg->second)) {
          const std::string weightName(*weight);
          field.pointer = weightPointers_.at(weightName);
          // The host view (what the CPU probe reads), and a test's substitute if any.
          std::optional<cpu::WeightView> view;
          try {
            view = cpu::viewWeight(bundle_, weightName);
          } catch (const Error &) {
            view.reset(); // a GPU repack the CPU cannot read: no host view
          }
          if (view && options_.substitute)
            if (auto other = options_.substitute(kind, i, name, *view)) {
              const size_t bytes = other->rows * other->rowBytes;
              DeviceBuffer &copy = substituted_.emplace_back(
                  api_, std::max<size_t>(bytes, 4),
                  fmt::format("substituted weight '{}' of {}", other->name, prepared.label));
              copy.copyFromHost({other->data, bytes});
              field.pointer = copy.data();
              view = std::move(*other);
            }
          if (view)
            weights[name] = std::move(*view);
        } else {
          field.kind = Field::Kind::Buffer;
          field.slot = &slot(arg->second);
          field.rule = spec->rows;
        }
      }
      prepared.fields.push_back(field);
    }
    if (kernel.family == "audit_stats") {
      PreparedPhase::AuditLaunch audit;
      audit.launchIndex = i;
      audit.point = bundle::stringParam(kernel, "point");
      audit.stats = &slot(launch.args.at("stats"));
      phase.audits.push_back(std::move(audit));
    }
    prepared.params.resize(alignUp(prepared.fields.size() * 8, 8));
    prepared.launch = &launch;
    prepared.kernel = &kernel;
    phase.launches.push_back(std::move(prepared));
  }
  phase.logits = &slot(plan.logits);
  if (kind == bundle::PhaseKind::Prefill && hipOptions_.sideStream)
    scheduleSideStream(phase);
  return phase;
}

void HipExecutor::scheduleSideStream(PreparedPhase &phase) {
  std::vector<LaunchAccess> accesses;
  for (const PreparedLaunch &launch : phase.launches) {
    const bundle::FamilySpec &family = *bundle::findFamily(launch.kernel->family);
    LaunchAccess &access = accesses.emplace_back();
    for (const bundle::ArgSpec &arg : family.args) {
      auto given = launch.launch->args.find(std::string(arg.name));
      if (arg.isWeight || given == launch.launch->args.end() ||
          bundle::weightRefName(given->second))
        continue;
      const size_t buffer = reinterpret_cast<uintptr_t>(&slot(given->second));
      if (arg.access != bundle::Access::Write)
        access.reads.push_back(buffer);
      if (arg.access != bundle::Access::Read)
        access.writes.push_back(buffer);
    }
  }
  std::vector<StreamStep> steps = scheduleTwoStreams(accesses);
  if (std::none_of(steps.begin(), steps.end(), [](const StreamStep &s) { return s.side; }))
    return;
  phase.steps = std::move(steps);
  phase.signals.resize(phase.steps.size());
  for (size_t i = 0; i < phase.steps.size(); ++i)
    if (phase.steps[i].signals)
      phase.signals[i].emplace(api_);
  // A side launch's blocks share SMs with the product beside it only under the product's
  // shared-memory split (measured at pp512 on an H200: 13,700 tok/s on one stream, 13,844 with
  // the side stream, 14,310 with it and this).
  std::set<hipFunction_t> preferShared;
  for (size_t i = 0; i < phase.steps.size(); ++i)
    if (phase.steps[i].side && preferShared.insert(phase.launches[i].function).second)
      GRETA_HIP_CHECK(api_, hipModuleFunctionPreferShared(phase.launches[i].function));
  phase.mainReady.emplace(api_);
  phase.sideDone.emplace(api_);
  if (!sideStream_)
    sideStream_.emplace(api_);
}

void HipExecutor::poisonActivations() {
  for (const auto &s : slots_)
    if (s->spec->kind != bundle::BufferKind::Kv && s->spec->kind != bundle::BufferKind::Input)
      GRETA_HIP_CHECK(api_, hipMemsetAsync(s->device, 0xff, s->bytes(), stream_.get()));
}

void HipExecutor::enqueue(const PreparedPhase &phase, uint64_t seq,
                          const cpu::LaunchObserver &observer, std::optional<size_t> only) {
  const hipStream_t mainStream = stream_.get();
  // A single launch (runLaunch) is not profiled: run() sizes and reads the events.
  const bool timed = profiling_ && !only;
  // Timed, observed or single launches run one after another on the main stream.
  const bool twoStreams = !phase.steps.empty() && !only && !timed && !observer;
  if (twoStreams) {
    phase.mainReady->record(mainStream);
    GRETA_HIP_CHECK(api_, hipStreamWaitEvent(sideStream_->get(), phase.mainReady->get(), 0));
  }
  for (size_t i = 0; i < phase.launches.size(); ++i) {
    if (only && i != *only)
      continue;
    const bool side = twoStreams && phase.steps[i].side;
    const hipStream_t stream = side ? sideStream_->get() : mainStream;
    if (twoStreams && phase.steps[i].waitFor)
      GRETA_HIP_CHECK(api_, hipStreamWaitEvent(stream,
                                               phase.signals[*phase.steps[i].waitFor]->get(), 0));
    const PreparedLaunch &launch = phase.launches[i];
    const uint64_t rows = rowsIn(*launch.rowsSlot->spec, launch.rowsSlot->rowsAllocated, seq);
    uint8_t *out = launch.params.data();
    for (const Field &field : launch.fields) {
      switch (field.kind) {
      case Field::Kind::Rows: {
        const int32_t value = static_cast<int32_t>(rows);
        std::memcpy(out, &value, 4);
        out += 4;
        break;
      }
      case Field::Kind::Ctx: {
        const int32_t value = static_cast<int32_t>(options_.context);
        std::memcpy(out, &value, 4);
        out += 4;
        break;
      }
      case Field::Kind::Pointer:
        std::memcpy(out, &field.pointer, 8);
        out += 8;
        break;
      case Field::Kind::Buffer: {
        const Slot &s = *field.slot;
        const uint64_t have = rowsIn(*s.spec, s.rowsAllocated, seq);
        uint64_t first = 0;
        switch (field.rule) {
        case bundle::RowRule::PerRow:
          if (have < rows)
            fail("{}: buffer '{}' has {} rows in a run of {} tokens; the launch needs {}",
                 launch.label, s.spec->name, have, seq, rows);
          first = have - rows;
          break;
        case bundle::RowRule::AnyRows:
          first = have - 1;
          break;
        case bundle::RowRule::OneRow:
        case bundle::RowRule::Context:
        case bundle::RowRule::Record:
        case bundle::RowRule::Scratch:
          first = 0;
          break;
        }
        const void *pointer = s.device + first * s.rowBytes;
        std::memcpy(out, &pointer, 8);
        out += 8;
        break;
      }
      }
    }
    Dim3 grid;
    unsigned *dims[3] = {&grid.x, &grid.y, &grid.z};
    for (size_t d = 0; d < launch.grid.size(); ++d) {
      const bundle::GridDim &g = launch.grid[d];
      const int64_t numerator = g.mul * static_cast<int64_t>(seq) + g.add;
      const int64_t blocks = g.div > 0 ? (numerator + g.div - 1) / g.div : 0;
      if (blocks < 1 || blocks > std::numeric_limits<int32_t>::max())
        fail("{}: grid dimension {} is {} blocks for seq {}", launch.label, d, blocks, seq);
      *dims[d] = static_cast<unsigned>(blocks);
    }
    void *params = launch.params.data();
    void *kernelParams[] = {params};
    if (timed)
      profileEvents_[i].record(stream);
    // Early start only between decode's own kernels, which are short enough for a launch's
    // start-up to matter (in prefill, blocks waiting early cost the GEMMs 1.4 % on an H200):
    // the first follows the input copies, a single launch runs alone, and a timed one must not
    // overlap the launch it is timed after.
    const bool early = hipOptions_.earlyStart && launch.kernel->earlyStart &&
                       phase.kind == bundle::PhaseKind::Decode && i > 0 && !only && !timed;
    if (early)
      GRETA_HIP_CHECK(api_, hipModuleLaunchKernelEarly(launch.function, grid.x, grid.y, grid.z,
                                                       launch.block, 1, 1, launch.sharedBytes,
                                                       stream, kernelParams, nullptr));
    else
      GRETA_HIP_CHECK(api_, hipModuleLaunchKernel(launch.function, grid.x, grid.y, grid.z,
                                                  launch.block, 1, 1, launch.sharedBytes, stream,
                                                  kernelParams, nullptr));
    if (twoStreams && phase.steps[i].signals)
      phase.signals[i]->record(stream);
    if (observer)
      observer(i);
  }
  if (twoStreams) {
    phase.sideDone->record(sideStream_->get());
    GRETA_HIP_CHECK(api_, hipStreamWaitEvent(mainStream, phase.sideDone->get(), 0));
  }
  if (timed)
    profileEvents_[phase.launches.size()].record(mainStream);
}

void HipExecutor::runLaunch(bundle::PhaseKind kind, size_t launchIndex, uint64_t seq) {
  const bool prefill = kind == bundle::PhaseKind::Prefill;
  if (seq == 0 || (prefill && seq > options_.maxBatch) || (!prefill && seq != 1))
    fail("{}: {} launch for {} tokens (prefill takes 1..{}, decode 1)", bundle_.dir(),
         nameOf(kind), seq, options_.maxBatch);
  const PreparedPhase &phase = prefill ? *prefill_ : *decode_;
  if (launchIndex >= phase.launches.size())
    fail("{}: {} has {} launches; there is no launch {}", bundle_.dir(), nameOf(kind),
         phase.launches.size(), launchIndex);
  enqueue(phase, seq, {}, launchIndex);
  stream_.synchronize();
}

void HipExecutor::uploadBuffer(std::string_view name, std::span<const uint8_t> bytes) {
  const Slot &s = slot(name);
  if (bytes.size() != s.bytes())
    fail("{}: buffer '{}' holds {} bytes; {} were given", bundle_.dir(), name, s.bytes(),
         bytes.size());
  stream_.synchronize();
  GRETA_HIP_CHECK(api_, hipMemcpy(s.device, bytes.data(), bytes.size(), hipMemcpyHostToDevice));
}

std::span<int32_t> HipExecutor::tokens() {
  return {static_cast<int32_t *>(hostInputs_.data()), static_cast<size_t>(options_.maxBatch)};
}

std::span<int32_t> HipExecutor::positions() {
  return {static_cast<int32_t *>(hostInputs_.data()) + options_.maxBatch,
          static_cast<size_t>(options_.maxBatch)};
}

void HipExecutor::run(bundle::PhaseKind kind, uint64_t seq, const cpu::LaunchObserver &observer) {
  const bool prefill = kind == bundle::PhaseKind::Prefill;
  if (seq == 0 || (prefill && seq > options_.maxBatch) || (!prefill && seq != 1))
    fail("{}: {} run of {} tokens (prefill takes 1..{}, decode 1)", bundle_.dir(), nameOf(kind),
         seq, options_.maxBatch);
  const hipStream_t stream = stream_.get();
  const PreparedPhase &phase = prefill ? *prefill_ : *decode_;
  rows_.clear();
  GRETA_HIP_CHECK(api_, hipMemcpyAsync(slot(bundle::kTokensBuffer).device, tokens().data(),
                                       seq * sizeof(int32_t), hipMemcpyHostToDevice, stream));
  GRETA_HIP_CHECK(api_, hipMemcpyAsync(slot(bundle::kPositionsBuffer).device, positions().data(),
                                       seq * sizeof(int32_t), hipMemcpyHostToDevice, stream));
  if (hipOptions_.poison)
    poisonActivations();
  if (profiling_)
    while (profileEvents_.size() < phase.launches.size() + 1)
      profileEvents_.emplace_back(api_);
  if (!prefill && hipOptions_.useGraph && !observer && !profiling_) {
    if (!decodeGraph_)
      decodeGraph_ = GraphExec::capture(api_, stream, [&] { enqueue(phase, 1, {}); });
    decodeGraph_->launch(stream);
    ++graphReplays_;
  } else {
    enqueue(phase, seq, observer);
  }
  uint8_t *host = static_cast<uint8_t *>(hostOutputs_.data());
  const Slot &logits = *phase.logits;
  GRETA_HIP_CHECK(api_, hipMemcpyAsync(host + phase.logitsHostOffset,
                                       logits.device + (logits.rowsAllocated - 1) * logits.rowBytes,
                                       logits.rowBytes, hipMemcpyDeviceToHost, stream));
  for (const PreparedPhase::AuditLaunch &audit : phase.audits)
    GRETA_HIP_CHECK(api_, hipMemcpyAsync(host + audit.hostOffset, audit.stats->device,
                                         audit.stats->rowBytes, hipMemcpyDeviceToHost, stream));
  stream_.synchronize();
  if (profiling_)
    for (size_t i = 0; i < phase.launches.size(); ++i) {
      const PreparedLaunch &launch = phase.launches[i];
      // From this launch's start to the next one's (the last: to the end of the launches).
      const double milliseconds =
          Event::elapsedMilliseconds(profileEvents_[i], profileEvents_[i + 1]);
      profile_.add(kind, *launch.kernel, milliseconds / 1e3,
                   engine::launchWork(bundle_, *launch.launch, seq, positions()));
    }
}

std::span<const float> HipExecutor::lastRow(std::string_view name, uint64_t seq) {
  Slot &s = slot(name);
  if (s.spec->dtype != bundle::BufferDType::F32)
    fail("{}: buffer '{}' is {}, not f32", bundle_.dir(), name, nameOf(s.spec->dtype));
  const uint64_t rows = rowsIn(*s.spec, s.rowsAllocated, seq);
  stream_.synchronize();
  auto it = rows_.find(name);
  if (it == rows_.end())
    it = rows_.emplace(std::string(name), std::vector<float>()).first;
  std::vector<float> &row = it->second;
  row.resize(s.spec->cols);
  GRETA_HIP_CHECK(api_, hipMemcpy(row.data(), s.device + (rows - 1) * s.rowBytes, s.rowBytes,
                                  hipMemcpyDeviceToHost));
  return row;
}

std::optional<cpu::WeightView> HipExecutor::boundWeight(bundle::PhaseKind kind, size_t launchIndex,
                                                        const std::string &arg) const {
  return cpu::findBoundWeight((kind == bundle::PhaseKind::Prefill ? *prefill_ : *decode_).weights,
                              launchIndex, arg);
}

std::span<const float> HipExecutor::logits(bundle::PhaseKind kind) {
  const PreparedPhase &phase = kind == bundle::PhaseKind::Prefill ? *prefill_ : *decode_;
  const auto *host = static_cast<const uint8_t *>(hostOutputs_.data()) + phase.logitsHostOffset;
  return {reinterpret_cast<const float *>(host), static_cast<size_t>(phase.logits->spec->cols)};
}

std::vector<cpu::AuditResult> HipExecutor::audits(bundle::PhaseKind kind) {
  const PreparedPhase &phase = kind == bundle::PhaseKind::Prefill ? *prefill_ : *decode_;
  std::vector<cpu::AuditResult> results;
  const auto *host = static_cast<const uint8_t *>(hostOutputs_.data());
  for (const PreparedPhase::AuditLaunch &audit : phase.audits) {
    cpu::AuditResult result;
    result.point = audit.point;
    result.launchIndex = audit.launchIndex;
    std::memcpy(&result.record, host + audit.hostOffset,
                std::min<size_t>(sizeof result.record, audit.stats->rowBytes));
    results.push_back(std::move(result));
  }
  return results;
}

std::vector<uint8_t> HipExecutor::downloadBuffer(std::string_view name) {
  const Slot &s = slot(name);
  stream_.synchronize();
  std::vector<uint8_t> bytes(s.bytes());
  GRETA_HIP_CHECK(api_, hipMemcpy(bytes.data(), s.device, bytes.size(), hipMemcpyDeviceToHost));
  return bytes;
}

const void *HipExecutor::bufferAddress(std::string_view name) const {
  auto it = slotIndex_.find(name);
  if (it == slotIndex_.end())
    fail("{}: no buffer named '{}'", bundle_.dir(), name);
  return it->second->device;
}

const void *HipExecutor::weightAddress(std::string_view name) const {
  auto it = weightPointers_.find(name);
  return it == weightPointers_.end() ? nullptr : it->second;
}

std::string hipUnsupportedReason(const bundle::Bundle &bundle) {
  for (const bundle::KernelSpec &kernel : bundle.manifest().kernels) {
    if (kernel.source.empty())
      return fmt::format("kernel '{}' has no HIP source", kernel.name);
    auto fields = kernel.params.find("param_fields");
    if (fields == kernel.params.end() || !std::holds_alternative<std::string>(fields->second))
      return fmt::format("kernel '{}' has no params.param_fields (its Params layout)", kernel.name);
    if (!intParam(kernel, "block"))
      return fmt::format("kernel '{}' has no params.block", kernel.name);
  }
  return "";
}

engine::ExecutorFactory hipExecutorFactory(HipPlatform platform, HipExecutorOptions options) {
  return
      [platform = std::move(platform), options = std::move(options)](
          const bundle::Bundle &bundle,
          const engine::ExecutorOptions &executorOptions) -> std::unique_ptr<engine::PlanExecutor> {
        return std::make_unique<HipExecutor>(bundle, platform, executorOptions, options);
      };
}

} // namespace greta::hip
