//===- greta_bench.cpp - Measure a compiled model as llama-bench does -------===//
//
// `greta-bench MODEL.greta [-p 512] [-n 128] [-pg 2048,128] [-t TEST] [-r 5] [--device …]
// [--ctx N] [-o md|json] [--profile]` loads a bundle, measures the device's memory bandwidth,
// runs the tests of engine/bench_tests.h (warm-up, then -r repetitions with fresh random ids)
// and prints one markdown row per test — or, with -o json, one JSON object with the same data.
// Decode rows carry the weight bandwidth reached and its share of the measured bandwidth (the
// floor: weight bytes per token / bandwidth); prefill rows (ppN) the FLOP/s reached (the
// prefill plan's FLOPs, engine/kernel_work.h, over the median time). Before the table: load to
// first token (bundle, executor with its kernel-cache state, first token) and, on a GPU, the
// memory the load took against weights + KV cache. --profile then reruns each test once with
// every launch timed and prints the time per kernel family and phase, with weight GB/s and
// GEMM/attention FLOP/s.
//
//===----------------------------------------------------------------------===//
#include "runtime/bundle/bundle.h"
#include "runtime/engine/bench_tests.h"
#include "runtime/engine/kernel_profile.h"
#include "runtime/engine/kernel_work.h"
#include "runtime/engine/memory_bandwidth.h"
#include "runtime/engine/session.h"
#include "runtime/support/error.h"
#include "runtime/tools/backend_setup.h"
#ifdef GRETA_HAVE_HIP
#include "runtime/hip/device_bandwidth.h"
#include "runtime/hip/hip_executor.h"
#include "runtime/hip/kernel_cache.h"
#endif

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <random>
#include <vector>

namespace greta {
namespace {

constexpr std::string_view kDescription =
    R"(Measures a compiled GRETA bundle the way llama-bench does.

Tests: -p N prefills N random tokens (ppN); -n N runs N decode steps after a 1-token prompt
(tgN); -pg P,N prefills P then decodes N (ppP+tgN, tok/s over P+N); -t takes the names
(pp512, tg128, pp2048+tg128). Each list may repeat or use commas. With no test given: -p 512
-n 128. Every test runs once as a warm-up, then -r times, each with fresh random ids (--seed);
t/s is tokens / median time, with the fastest and slowest run beside it.

Decode rows also give ms/token, the weight bandwidth reached (weight bytes read per step /
time) and its share of the peak the tool measures at start (a large device-to-device copy on
a GPU, a memcpy on the CPU): 100 % is the floor, where a step takes weight bytes / bandwidth.)";

/// Host copy for the CPU's bandwidth: well past any last-level cache.
constexpr uint64_t kHostProbeBytes = uint64_t{256} << 20;
/// Timed repetitions of the bandwidth probes (best taken).
constexpr unsigned kProbeRepetitions = 5;

struct Flags {
  std::string model;
  std::string weights;
  std::vector<uint64_t> prompts;
  std::vector<uint64_t> generates;
  std::vector<std::string> promptGenerates;
  std::vector<std::string> tests;
  unsigned repetitions = 5;
  std::string device = "auto";
  uint64_t context = 0;
  std::string output = "md";
  bool profile = false;
  bool profileKernels = false;
  bool noEarlyStart = false;
  bool noSideStream = false;
  unsigned threads = 0;
  uint64_t seed = 1;
};

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// The tests the flags ask for, in order: -t, -p, -n, -pg; -p 512 -n 128 when none is given.
/// A 0 in -p / -n skips (llama-bench's convention).
std::vector<engine::BenchTest> testsOf(const Flags &f) {
  std::vector<engine::BenchTest> tests;
  for (const std::string &text : f.tests)
    tests.push_back(engine::parseBenchTest(text));
  for (uint64_t prompt : f.prompts)
    if (prompt)
      tests.push_back({.prompt = prompt});
  for (uint64_t generate : f.generates)
    if (generate)
      tests.push_back({.generate = generate});
  for (const std::string &text : f.promptGenerates)
    tests.push_back(engine::parsePromptGenerate(text));
  const bool anyGiven =
      !f.tests.empty() || !f.prompts.empty() || !f.generates.empty() || !f.promptGenerates.empty();
  if (!anyGiven)
    tests = {{.prompt = 512}, {.generate = 128}};
  if (tests.empty())
    fail("no test to run: -p 0 and -n 0 skip theirs; give -p N, -n N, -pg P,N or -t TEST");
  return tests;
}

/// The KV cache length: the most any test fills, or --ctx, which must hold every test.
uint64_t contextFor(const Flags &f, const std::vector<engine::BenchTest> &tests,
                    const bundle::Bundle &bundle) {
  const engine::BenchTest *largest = &tests.front();
  for (const engine::BenchTest &test : tests)
    if (test.contextNeeded() > largest->contextNeeded())
      largest = &test;
  const uint64_t needed = largest->contextNeeded();
  const uint64_t modelContext = bundle.manifest().model.context;
  if (f.context != 0 && needed > f.context)
    fail("test {} needs {} tokens of KV cache, more than --ctx {}; raise --ctx or shorten the test",
         largest->name(), needed, f.context);
  if (needed > modelContext)
    fail("test {} needs {} tokens of KV cache, more than the model's context of {} tokens ({})",
         largest->name(), needed, modelContext, bundle.dir());
  return f.context != 0 ? f.context : needed;
}

/// The bundle's name: "llama3-8b-q4_k_m" for .../llama3-8b-q4_k_m.greta/.
std::string modelName(const std::string &dir) {
  std::filesystem::path path = std::filesystem::path(dir).lexically_normal();
  if (path.filename().empty())
    path = path.parent_path();
  return path.stem().string();
}

/// What the model is: stored weight bytes and parameters (elements of every weight).
struct ModelSize {
  uint64_t bytes = 0;
  uint64_t params = 0;
};

ModelSize modelSize(const bundle::Manifest &manifest) {
  ModelSize size;
  for (const bundle::WeightEntry &weight : manifest.weights.tensors) {
    size.bytes += weight.bytes;
    uint64_t elements = 1;
    for (uint64_t dim : weight.dims)
      elements *= dim;
    size.params += elements;
  }
  return size;
}

#ifdef GRETA_HAVE_HIP
/// The KV caches' bytes at `context` rows (the GPU memory report; only the HIP backend has one).
uint64_t kvCacheBytes(const bundle::Manifest &manifest, uint64_t context) {
  uint64_t bytes = 0;
  for (const bundle::BufferSpec &buffer : manifest.buffers)
    if (buffer.kind == bundle::BufferKind::Kv)
      bytes += context * buffer.cols * bundle::bytesOf(buffer.dtype);
  return bytes;
}
#endif

/// Load to first token, split into its parts.
struct LoadTimes {
  double bundleSeconds = 0;     ///< open + validate the bundle, map (or repack) its weights
  double executorSeconds = 0;   ///< buffers, weight upload, kernels
  double firstTokenSeconds = 0; ///< one 1-token prefill, logits on the host
  std::string kernelCache;      ///< "warm", "cold", "partial (H of N)", or why there is none
  nlohmann::ordered_json details = nlohmann::ordered_json::object(); ///< backend specifics
  double total() const { return bundleSeconds + executorSeconds + firstTokenSeconds; }
};

/// Device memory the load took, against what it must hold.
struct MemoryUse {
  uint64_t usedBytes = 0;   ///< free before the session − free after the first token
  uint64_t weightBytes = 0; ///< as the executor holds them
  uint64_t kvBytes = 0;
  uint64_t bufferBytes = 0; ///< every buffer, KV caches included
  double overheadOverWeightsAndKv() const {
    const double base = static_cast<double>(weightBytes + kvBytes);
    return base > 0 ? static_cast<double>(usedBytes) / base - 1.0 : 0;
  }
};

struct TestReport {
  engine::BenchResult result;
  std::optional<engine::KernelProfile> profile;
  double prefillFlops = 0; ///< the prefill plan's FLOPs for a ppN test; 0 for the others

  /// FLOP/s of a ppN test's median run (0 for the others).
  double prefillFlopsPerSecond() const {
    const double seconds = result.medianSeconds();
    return prefillFlops > 0 && seconds > 0 ? prefillFlops / seconds : 0;
  }
};

/// The FLOPs of prefilling `test.prompt` tokens into an empty cache (positions 0 .. N-1), for a
/// pure prefill test (ppN); 0 for tests that decode, whose time is not prefill alone.
double prefillFlops(const bundle::Bundle &bundle, const engine::Session &session,
                    const engine::BenchTest &test) {
  if (test.prompt == 0 || test.generate != 0)
    return 0;
  std::vector<int32_t> positions(test.prompt);
  for (size_t i = 0; i < positions.size(); ++i)
    positions[i] = static_cast<int32_t>(i);
  return engine::phaseWork(bundle, session.plan(bundle::PhaseKind::Prefill), test.prompt,
                           positions)
      .flops;
}

struct Report {
  std::string model;
  std::string bundleDir;
  ModelSize size;
  std::string backend;
  std::string device;
  unsigned threads = 0;
  uint64_t context = 0;
  uint64_t maxBatch = 0;
  engine::MemoryBandwidth peak;
  uint64_t decodeWeightBytes = 0; ///< per decode step
  LoadTimes load;
  std::optional<MemoryUse> memory;
  std::vector<TestReport> tests;
};

/// Weight bytes per second a test's decode steps reach (0 without decode steps).
double decodeBytesPerSecond(const Report &report, const engine::BenchResult &result) {
  const double perToken = result.medianDecodeSecondsPerToken();
  return perToken > 0 ? static_cast<double>(report.decodeWeightBytes) / perToken : 0;
}

/// "4.58 GiB", "17.25 MiB": llama-bench's size column, readable for tiny test models too.
std::string gib(uint64_t bytes) {
  const double value = static_cast<double>(bytes);
  if (bytes >= (uint64_t{1} << 30))
    return fmt::format("{:.2f} GiB", value / double(uint64_t{1} << 30));
  return fmt::format("{:.2f} MiB", value / double(uint64_t{1} << 20));
}

/// "8.03 B", "1.24 M" parameters.
std::string paramCount(uint64_t params) {
  const double value = static_cast<double>(params);
  return params >= 1'000'000'000 ? fmt::format("{:.2f} B", value / 1e9)
                                 : fmt::format("{:.2f} M", value / 1e6);
}

nlohmann::ordered_json timingJson(const engine::KernelTiming &row, double phaseSeconds) {
  return {{"phase", row.phase},
          {"kernel", row.kernel},
          {"family", row.family},
          {"launches", row.launches},
          {"seconds", row.seconds},
          {"average_seconds", row.averageSeconds()},
          {"share", phaseSeconds > 0 ? row.seconds / phaseSeconds : 0.0},
          {"weight_bytes", row.weightBytes},
          {"weight_bytes_per_second", row.bytesPerSecond()},
          {"flops", row.flops},
          {"flops_per_second", row.flopsPerSecond()}};
}

nlohmann::ordered_json profileJson(const engine::KernelProfile &profile) {
  nlohmann::ordered_json out;
  for (const auto &[key, rows] :
       {std::pair{"families", profile.families()}, std::pair{"kernels", profile.kernels()}}) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const engine::KernelTiming &row : rows)
      list.push_back(timingJson(row, profile.totalSeconds(row.phase)));
    out[key] = std::move(list);
  }
  return out;
}

void printJson(const Report &r) {
  nlohmann::ordered_json out;
  out["model"] = r.model;
  out["bundle"] = r.bundleDir;
  out["size_bytes"] = r.size.bytes;
  out["params"] = r.size.params;
  out["backend"] = r.backend;
  out["device"] = r.device;
  out["threads"] = r.threads;
  out["context"] = r.context;
  out["max_batch"] = r.maxBatch;
  out["peak_bandwidth"] = {{"bytes_per_second", r.peak.bytesPerSecond},
                           {"copy_bytes", r.peak.copyBytes},
                           {"repetitions", r.peak.repetitions},
                           {"method", r.peak.method}};
  const double floorSeconds =
      r.peak.bytesPerSecond > 0 ? double(r.decodeWeightBytes) / r.peak.bytesPerSecond : 0;
  out["decode_weight_bytes_per_token"] = r.decodeWeightBytes;
  out["floor_seconds_per_token"] = floorSeconds;
  out["load"] = {{"bundle_seconds", r.load.bundleSeconds},
                 {"executor_seconds", r.load.executorSeconds},
                 {"first_token_seconds", r.load.firstTokenSeconds},
                 {"total_seconds", r.load.total()},
                 {"kernel_cache", r.load.kernelCache},
                 {"details", r.load.details}};
  if (r.memory)
    out["memory"] = {{"device_used_bytes", r.memory->usedBytes},
                     {"weight_bytes", r.memory->weightBytes},
                     {"kv_cache_bytes", r.memory->kvBytes},
                     {"buffer_bytes", r.memory->bufferBytes},
                     {"overhead_over_weights_and_kv", r.memory->overheadOverWeightsAndKv()}};
  else
    out["memory"] = nullptr;
  nlohmann::ordered_json tests = nlohmann::ordered_json::array();
  for (const TestReport &t : r.tests) {
    const engine::BenchResult &result = t.result;
    const engine::Spread rate = result.tokensPerSecond();
    nlohmann::ordered_json test;
    test["test"] = result.test.name();
    test["prompt_tokens"] = result.test.prompt;
    test["generated_tokens"] = result.test.generate;
    test["repetitions"] = result.runs.size();
    test["median_seconds"] = result.medianSeconds();
    test["tokens_per_second"] = {{"median", rate.median},
                                 {"min", rate.min},
                                 {"max", rate.max},
                                 {"mean", rate.mean},
                                 {"stddev", rate.stddev}};
    nlohmann::ordered_json runs = nlohmann::ordered_json::array();
    for (const engine::BenchRun &run : result.runs)
      runs.push_back({{"prefill_seconds", run.prefillSeconds},
                      {"decode_seconds", run.decodeSeconds},
                      {"seconds", run.seconds()}});
    test["runs"] = std::move(runs);
    if (t.prefillFlops > 0) {
      test["prefill_flops"] = t.prefillFlops;
      test["prefill_flops_per_second"] = t.prefillFlopsPerSecond();
    }
    if (result.test.generate) {
      const double bandwidth = decodeBytesPerSecond(r, result);
      test["decode_ms_per_token"] = 1e3 * result.medianDecodeSecondsPerToken();
      test["decode_weight_bytes_per_second"] = bandwidth;
      test["decode_floor_fraction"] =
          r.peak.bytesPerSecond > 0 ? bandwidth / r.peak.bytesPerSecond : 0.0;
    }
    if (t.profile)
      test["profile"] = profileJson(*t.profile);
    tests.push_back(std::move(test));
  }
  out["tests"] = std::move(tests);
  std::puts(out.dump(2).c_str());
}

void printMarkdown(const Report &r, bool profileKernels) {
  const double peak = r.peak.bytesPerSecond;
  std::printf("greta-bench: %s\n", r.device.c_str());
  std::printf("- peak bandwidth: %.1f GB/s (%s)\n", peak / 1e9, r.peak.method.c_str());
  if (peak > 0)
    std::printf("- decode reads %.3f GB of weights per token (embedding: one table row per "
                "token); floor %.3f ms/token (%.0f tok/s)\n",
                r.decodeWeightBytes / 1e9, 1e3 * r.decodeWeightBytes / peak,
                peak / double(r.decodeWeightBytes));
  std::printf("- load to first token: %.2f s = bundle %.2f s + executor %.2f s (kernel cache: "
              "%s) + first token %.3f s\n",
              r.load.total(), r.load.bundleSeconds, r.load.executorSeconds,
              r.load.kernelCache.c_str(), r.load.firstTokenSeconds);
  if (r.memory)
    std::printf("- GPU memory: %s used by the load; weights %s + KV cache %s (%llu tokens) = %s "
                "(%+.1f %%); all buffers %s\n",
                gib(r.memory->usedBytes).c_str(), gib(r.memory->weightBytes).c_str(),
                gib(r.memory->kvBytes).c_str(), static_cast<unsigned long long>(r.context),
                gib(r.memory->weightBytes + r.memory->kvBytes).c_str(),
                100.0 * r.memory->overheadOverWeightsAndKv(), gib(r.memory->bufferBytes).c_str());
  std::printf("\n| model | size | params | backend | test | t/s | min – max t/s | ms/tok | weight "
              "GB/s | %% of floor | TFLOP/s |\n| --- | ---: | ---: | --- | --- | ---: | ---: | "
              "---: | ---: | ---: | ---: |\n");
  for (const TestReport &t : r.tests) {
    const engine::BenchResult &result = t.result;
    const engine::Spread rate = result.tokensPerSecond();
    std::string msPerToken, bandwidth = "—", floor = "—", flops = "—";
    if (result.test.generate && !result.test.prompt) {
      const double bytesPerSecond = decodeBytesPerSecond(r, result);
      msPerToken = fmt::format("{:.3f}", 1e3 * result.medianDecodeSecondsPerToken());
      bandwidth = fmt::format("{:.1f}", bytesPerSecond / 1e9);
      if (peak > 0)
        floor = fmt::format("{:.1f} %", 100.0 * bytesPerSecond / peak);
    } else {
      msPerToken = fmt::format("{:.3f}", rate.median > 0 ? 1e3 / rate.median : 0.0);
    }
    if (t.prefillFlops > 0)
      flops = fmt::format("{:.2f}", t.prefillFlopsPerSecond() / 1e12);
    std::printf("| %s | %s | %s | %s | %s | %.2f | %.2f – %.2f | %s | %s | %s | %s |\n",
                r.model.c_str(), gib(r.size.bytes).c_str(), paramCount(r.size.params).c_str(),
                r.backend.c_str(), result.test.name().c_str(), rate.median, rate.min, rate.max,
                msPerToken.c_str(), bandwidth.c_str(), floor.c_str(), flops.c_str());
  }
  for (const TestReport &t : r.tests) {
    if (!t.profile)
      continue;
    std::printf("\nprofile of %s (one run, every launch timed), per kernel family:\n\n%s",
                t.result.test.name().c_str(),
                engine::formatProfileMarkdown(t.profile->families()).c_str());
    if (profileKernels)
      std::printf("\nper kernel:\n\n%s",
                  engine::formatProfileMarkdown(t.profile->kernels()).c_str());
  }
}

#ifdef GRETA_HAVE_HIP
size_t freeDeviceMemory(const hip::HipPlatform &gpu) {
  size_t freeBytes = 0, totalBytes = 0;
  GRETA_HIP_CHECK(*gpu.api, hipMemGetInfo(&freeBytes, &totalBytes));
  return freeBytes;
}

std::string kernelCacheState(const hip::HipLoadStats &stats) {
  const size_t ready = stats.cacheHits + stats.aheadOfTime;
  if (hip::defaultKernelCacheDirectory().empty() && stats.aheadOfTime == 0)
    return "off (GRETA_KERNEL_CACHE=off or no home folder): every kernel compiled";
  if (ready == stats.kernels)
    return fmt::format("warm, {} of {} kernels from the disk cache or ahead of time", ready,
                       stats.kernels);
  if (ready == 0)
    return fmt::format("cold, {} kernels compiled in {:.2f} s", stats.kernels,
                       stats.compileSeconds);
  return fmt::format("partial, {} of {} kernels from the cache", ready, stats.kernels);
}

/// The GPU's part of the report, right after the first token: kernel-cache state and load
/// details, memory taken since `freeBefore` (free bytes before the session), then the
/// device's copy bandwidth (its buffers come and go after the memory is read).
void describeGpuLoad(Report &report, const hip::HipPlatform &gpu, engine::Session &session,
                     size_t freeBefore) {
  const auto &executor = dynamic_cast<const hip::HipExecutor &>(session.executor());
  const hip::HipLoadStats &stats = executor.loadStats();
  report.load.kernelCache = kernelCacheState(stats);
  report.load.details = {{"upload_seconds", stats.uploadSeconds},
                         {"compile_seconds", stats.compileSeconds},
                         {"kernels", stats.kernels},
                         {"cache_hits", stats.cacheHits},
                         {"ahead_of_time", stats.aheadOfTime}};
  const size_t freeAfter = freeDeviceMemory(gpu);
  report.memory = MemoryUse{.usedBytes = freeBefore > freeAfter ? freeBefore - freeAfter : 0,
                            .weightBytes = stats.weightBytes,
                            .kvBytes = kvCacheBytes(session.bundle().manifest(), report.context),
                            .bufferBytes = stats.bufferBytes};
  report.peak = hip::measureDeviceCopyBandwidth(gpu, uint64_t{1} << 30, kProbeRepetitions);
}
#endif

int run(int argc, char **argv) {
  CLI::App app{std::string(kDescription), "greta-bench"};
  Flags f;
  app.add_option("model", f.model, "bundle directory (NAME.greta)")->required();
  app.add_option("--weights", f.weights,
                 "external-weights bundles: the GGUF to read (default: the path in the bundle)");
  app.add_option("-p,--n-prompt", f.prompts, "prefill test: N random tokens (ppN; 0 skips)")
      ->delimiter(',');
  app.add_option("-n,--n-gen", f.generates, "decode test: N steps after a 1-token prompt (tgN)")
      ->delimiter(',');
  app.add_option("--pg", f.promptGenerates,
                 "(also -pg) prefill P tokens then decode N steps: P,N (ppP+tgN)");
  app.add_option("-t,--test", f.tests, "tests by name: pp512, tg128, pp2048+tg128")->delimiter(',');
  app.add_option("-r,--repetitions", f.repetitions, "timed runs per test, after a warm-up")
      ->capture_default_str();
  app.add_option("--device", f.device, "auto|cpu|hip (hip:amd, hip:nvidia pick a vendor)")
      ->check(CLI::IsMember({"auto", "cpu", "hip", "hip:amd", "hip:nvidia"}))
      ->capture_default_str();
  app.add_option("--ctx", f.context,
                 "KV cache tokens (default: the most any test needs); must hold every test");
  app.add_option("-o,--output", f.output, "md (a markdown table) or json")
      ->check(CLI::IsMember({"md", "json"}))
      ->capture_default_str();
  app.add_flag("--profile", f.profile,
               "after the tests, run each once more with every launch timed: time, weight GB/s "
               "and FLOP/s per kernel family and phase");
  app.add_flag("--profile-kernels", f.profileKernels,
               "with --profile: also one markdown row per kernel (JSON always has them)");
  app.add_flag("--no-early-start", f.noEarlyStart,
               "hip: start every kernel only after the one before it has finished (default: "
               "kernels that allow it start early, on NVIDIA sm_90 and later)");
  app.add_flag("--no-side-stream", f.noSideStream,
               "hip: run prefill's weight decodes on the main stream, after the product before "
               "them (default: on a second stream, beside it)");
  app.add_option("--threads", f.threads, "CPU threads (0: all)")->capture_default_str();
  app.add_option("--seed", f.seed, "seed of the random token ids")->capture_default_str();
  // llama-bench spells it -pg; CLI11 takes one-letter short options only.
  std::vector<char *> args(argv, argv + argc);
  static char longPg[] = "--pg";
  for (char *&arg : args)
    if (std::string_view(arg) == "-pg")
      arg = longPg;
  CLI11_PARSE(app, argc, args.data());

  if (f.repetitions == 0)
    fail("-r 0: each test needs at least 1 timed repetition");
  if (f.profileKernels && !f.profile)
    fail("--profile-kernels needs --profile");
  const std::vector<engine::BenchTest> tests = testsOf(f);

  const tools::Backend backend = tools::openBackend(f.device);
  Report report;
  auto start = std::chrono::steady_clock::now();
  bundle::BundleOpenOptions open;
  open.weightsPath = f.weights;
  open.threads = f.threads;
  const std::unique_ptr<bundle::Bundle> bundle = bundle::Bundle::open(f.model, open);
  report.load.bundleSeconds = secondsSince(start);
  const bundle::Manifest &manifest = bundle->manifest();
  report.context = contextFor(f, tests, *bundle);

  engine::SessionOptions options{.context = report.context, .threads = f.threads};
  options.executor = tools::executorFor(backend, *bundle, {.earlyStart = !f.noEarlyStart, .sideStream = !f.noSideStream});
#ifdef GRETA_HAVE_HIP
  const bool onGpu = static_cast<bool>(options.executor);
  const size_t freeBefore = onGpu ? freeDeviceMemory(*backend.gpu) : 0;
#endif
  start = std::chrono::steady_clock::now();
  engine::Session session(*bundle, options);
  report.load.executorSeconds = secondsSince(start);
  std::mt19937_64 rng(f.seed);
  start = std::chrono::steady_clock::now();
  (void)engine::runBenchOnce(session, {.prompt = 1}, rng);
  report.load.firstTokenSeconds = secondsSince(start);
  report.load.kernelCache = "none, the CPU backend compiles no kernels";

  report.model = modelName(bundle->dir());
  report.bundleDir = bundle->dir();
  report.size = modelSize(manifest);
  report.backend = std::string(session.device());
  report.device = session.deviceDescription();
  report.threads = session.threads();
  report.maxBatch = session.maxBatch();
  const int32_t position = 0;
  report.decodeWeightBytes =
      engine::phaseWork(*bundle, session.plan(bundle::PhaseKind::Decode), 1, {&position, 1})
          .weightBytes;

#ifdef GRETA_HAVE_HIP
  if (onGpu)
    describeGpuLoad(report, *backend.gpu, session, freeBefore);
  else
#endif
    report.peak =
        engine::measureHostCopyBandwidth(kHostProbeBytes, session.threads(), kProbeRepetitions);

  for (const engine::BenchTest &test : tests)
    report.tests.push_back({engine::runBenchTest(session, test, f.repetitions, rng), {},
                            prefillFlops(*bundle, session, test)});
  if (f.profile) {
    engine::PlanExecutor &executor = session.executor();
    executor.setProfiling(true);
    for (TestReport &t : report.tests) {
      executor.profile().clear();
      (void)engine::runBenchOnce(session, t.result.test, rng);
      t.profile = executor.profile();
    }
    executor.setProfiling(false);
  }

  if (f.output == "json")
    printJson(report);
  else
    printMarkdown(report, f.profileKernels);
  return 0;
}

} // namespace
} // namespace greta

int main(int argc, char **argv) {
  try {
    return greta::run(argc, argv);
  } catch (const std::exception &e) { // greta::Error, and I/O or allocation failures
    std::fflush(stdout);
    std::fprintf(stderr, "greta-bench: error: %s\n", e.what());
    return 1;
  }
}
