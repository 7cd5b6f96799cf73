// Tests of the HIP executor's host side over a fake HIP table (no GPU): what it allocates, how it
// packs each launch's Params (codegen/KernelABI.h), its grids, the decode graph's capture and
// replay, and what it copies in and out around a step. "Device" memory is host memory; a
// launch is recorded (its Params bytes copied), and the LM head and audit_stats launches
// write a known pattern where their output pointer points, so the test can see that the logits
// and records come back from the place the kernels write.
//
// Real bundles from greta-compile are read from GRETA_GPU_BUNDLES (default: the source tree's
// .gpu-bundles, made by scripts/make-gpu-bundles.sh); without them the tests skip. The expected
// pointers are computed here independently, by the rules of docs/bundle-format.md and
// codegen/KernelABI.h, from the manifest.

#include "runtime/bundle/audit_record.h"
#include "runtime/bundle/bundle.h"
#include "runtime/bundle/manifest_validator.h"
#include "runtime/engine/session.h"
#include "runtime/hip/hip_executor.h"
#include "runtime/hip/hip_provider.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace greta::hip {
namespace {

struct FakeLaunch {
  std::string entry;
  unsigned grid[3] = {0, 0, 0};
  unsigned block = 0;
  unsigned shared = 0; ///< dynamic shared memory
  std::vector<uint8_t> params;
  bool early = false; ///< launched with hipModuleLaunchKernelEarly
};

/// A launch, event record or event wait, in the order the executor enqueued them.
struct FakeStreamOp {
  enum class Kind { Launch, Record, Wait } kind = Kind::Launch;
  const void *stream = nullptr;
  const void *event = nullptr; ///< Record, Wait
  std::string entry;           ///< Launch
};

/// The fake device: what the executor did to it.
struct FakeGpu {
  std::vector<FakeStreamOp> streamOps;    // outside captures
  std::set<const void *> priorityStreams; // made by hipStreamCreateWithPriority
  std::set<std::string> preferShared;     // entries asked to keep the largest shared split
  std::map<std::string, size_t> paramBytes;               // by entry, from the manifest
  std::map<std::string, std::vector<std::string>> fields; // by entry
  std::map<std::string, std::string> families;            // by entry
  std::set<std::string> sharedAllowed; // entries allowed dynamic shared memory
  std::vector<FakeLaunch> executed; // launches run (eagerly or by a graph replay)
  bool capturing = false;
  std::vector<FakeLaunch> captured;
  size_t captures = 0;
  size_t graphLaunches = 0;
  size_t liveAllocations = 0;
  float logitsBase = 0;
};
FakeGpu *gGpu = nullptr;

void *fieldPointer(const FakeLaunch &launch, const std::string &field) {
  size_t offset = 0;
  for (const std::string &name : gGpu->fields.at(launch.entry)) {
    if (name == field) {
      void *pointer = nullptr;
      std::memcpy(&pointer, launch.params.data() + offset, 8);
      return pointer;
    }
    offset += name == "rows" || name == "ctx" ? 4 : 8;
  }
  return nullptr;
}

/// What a "kernel" does: LM heads write logits[i] = base + i; audit_stats records a top-1.
void execute(const FakeLaunch &launch) {
  gGpu->executed.push_back(launch);
  const std::string &family = gGpu->families.at(launch.entry);
  if (family == "lm_head") {
    auto *out = static_cast<float *>(fieldPointer(launch, "out"));
    const size_t vocab = gGpu->paramBytes.at(launch.entry + "#vocab");
    for (size_t i = 0; i < vocab; ++i)
      out[i] = gGpu->logitsBase + static_cast<float>(i);
  }
  if (family == "audit_stats") {
    bundle::AuditStatsRecord record;
    record.top1Id = 7;
    record.count = static_cast<uint32_t>(gGpu->executed.size());
    std::memcpy(fieldPointer(launch, "stats"), &record, sizeof record);
  }
}

/// A launch on the fake device: recorded while capturing, else executed at once.
hipError_t fakeLaunch(bool early, hipFunction_t function, unsigned gx, unsigned gy, unsigned gz,
                      unsigned bx, unsigned by, unsigned bz, unsigned shared, hipStream_t stream,
                      void **kernelParams, void **extra) {
  if (by != 1 || bz != 1 || extra != nullptr || !kernelParams)
    return hipErrorInvalidValue;
  FakeLaunch launch;
  launch.entry = *reinterpret_cast<const std::string *>(function);
  if (!gGpu->capturing)
    gGpu->streamOps.push_back({FakeStreamOp::Kind::Launch, stream, nullptr, launch.entry});
  launch.early = early;
  launch.grid[0] = gx, launch.grid[1] = gy, launch.grid[2] = gz;
  launch.block = bx;
  launch.shared = shared;
  if (shared > 0 && !gGpu->sharedAllowed.count(launch.entry))
    return hipErrorInvalidValue; // past 48 KiB without the function's opt-in
  const size_t bytes = gGpu->paramBytes.at(launch.entry);
  const auto *params = static_cast<const uint8_t *>(kernelParams[0]);
  launch.params.assign(params, params + bytes);
  if (gGpu->capturing)
    gGpu->captured.push_back(std::move(launch));
  else
    execute(launch);
  return hipSuccess;
}

HipApi fakeGpuApi() {
  HipApi api;
  setUnavailableEntries(api, /*runtime=*/true, /*compiler=*/true);
  api.hipSetDevice = [](int) { return hipSuccess; };
  api.hipMemGetInfo = [](size_t *freeBytes, size_t *totalBytes) {
    *freeBytes = *totalBytes = size_t{80} << 30;
    return hipSuccess;
  };
  api.hipMalloc = [](void **pointer, size_t bytes) {
    *pointer = std::malloc(bytes);
    ++gGpu->liveAllocations;
    return *pointer ? hipSuccess : hipErrorOutOfMemory;
  };
  api.hipFree = [](void *pointer) {
    std::free(pointer);
    --gGpu->liveAllocations;
    return hipSuccess;
  };
  api.hipHostMalloc = [](void **pointer, size_t bytes, unsigned) {
    *pointer = std::malloc(bytes);
    return hipSuccess;
  };
  api.hipHostFree = [](void *pointer) {
    std::free(pointer);
    return hipSuccess;
  };
  api.hipMemcpy = [](void *destination, const void *source, size_t bytes, hipMemcpyKind) {
    std::memcpy(destination, source, bytes);
    return hipSuccess;
  };
  api.hipMemcpyAsync = [](void *destination, const void *source, size_t bytes, hipMemcpyKind,
                          hipStream_t) {
    if (gGpu->capturing)
      return hipErrorInvalidValue; // the executor copies outside the graph
    std::memcpy(destination, source, bytes);
    return hipSuccess;
  };
  api.hipMemsetAsync = [](void *destination, int value, size_t bytes, hipStream_t) {
    if (gGpu->capturing)
      return hipErrorInvalidValue;
    std::memset(destination, value, bytes);
    return hipSuccess;
  };
  api.hipStreamCreate = [](hipStream_t *stream) {
    *stream = reinterpret_cast<hipStream_t>(new int(1));
    return hipSuccess;
  };
  api.hipStreamCreateWithPriority = [](hipStream_t *stream, unsigned, int priority) {
    if (priority < -5 || priority > 0)
      return hipErrorInvalidValue;
    *stream = reinterpret_cast<hipStream_t>(new int(1));
    gGpu->priorityStreams.insert(*stream);
    return hipSuccess;
  };
  api.hipDeviceGetStreamPriorityRange = [](int *least, int *greatest) {
    *least = 0;
    *greatest = -5;
    return hipSuccess;
  };
  api.hipStreamDestroy = [](hipStream_t stream) {
    delete reinterpret_cast<int *>(stream);
    return hipSuccess;
  };
  api.hipStreamSynchronize = [](hipStream_t) {
    return gGpu->capturing ? hipErrorInvalidValue : hipSuccess; // no sync inside a capture
  };
  api.hipEventCreate = [](hipEvent_t *event) {
    *event = reinterpret_cast<hipEvent_t>(new int(3));
    return hipSuccess;
  };
  api.hipEventDestroy = [](hipEvent_t event) {
    delete reinterpret_cast<int *>(event);
    return hipSuccess;
  };
  api.hipEventRecord = [](hipEvent_t event, hipStream_t stream) {
    if (!gGpu->capturing)
      gGpu->streamOps.push_back({FakeStreamOp::Kind::Record, stream, event, {}});
    return hipSuccess;
  };
  api.hipStreamWaitEvent = [](hipStream_t stream, hipEvent_t event, unsigned flags) {
    if (flags != 0)
      return hipErrorInvalidValue;
    gGpu->streamOps.push_back({FakeStreamOp::Kind::Wait, stream, event, {}});
    return hipSuccess;
  };
  api.hipEventElapsedTime = [](float *milliseconds, hipEvent_t, hipEvent_t) {
    *milliseconds = 0.5f;
    return hipSuccess;
  };
  api.hiprtcCreateProgram = [](hiprtcProgram *program, const char *, const char *name, int,
                               const char *const *, const char *const *) {
    *program = reinterpret_cast<hiprtcProgram>(new std::string(name));
    return HIPRTC_SUCCESS;
  };
  api.hiprtcCompileProgram = [](hiprtcProgram, int, const char *const *) { return HIPRTC_SUCCESS; };
  api.hiprtcGetProgramLogSize = [](hiprtcProgram, size_t *bytes) {
    *bytes = 1;
    return HIPRTC_SUCCESS;
  };
  api.hiprtcGetProgramLog = [](hiprtcProgram, char *log) {
    log[0] = '\0';
    return HIPRTC_SUCCESS;
  };
  api.hiprtcGetCodeSize = [](hiprtcProgram, size_t *bytes) {
    *bytes = 8;
    return HIPRTC_SUCCESS;
  };
  api.hiprtcGetCode = [](hiprtcProgram, char *code) {
    std::memcpy(code,
                "\x7f"
                "ELFfake",
                8);
    return HIPRTC_SUCCESS;
  };
  api.hiprtcDestroyProgram = [](hiprtcProgram *program) {
    delete reinterpret_cast<std::string *>(*program);
    *program = nullptr;
    return HIPRTC_SUCCESS;
  };
  api.hipModuleLoadData = [](hipModule_t *module, const void *) {
    *module = reinterpret_cast<hipModule_t>(new int(2));
    return hipSuccess;
  };
  api.hipModuleUnload = [](hipModule_t module) {
    delete reinterpret_cast<int *>(module);
    return hipSuccess;
  };
  api.hipModuleGetFunction = [](hipFunction_t *function, hipModule_t, const char *name) {
    static std::set<std::string> names; // stable addresses: one per entry name
    *function =
        reinterpret_cast<hipFunction_t>(const_cast<std::string *>(&*names.insert(name).first));
    return hipSuccess;
  };
  api.hipModuleFunctionPreferShared = [](hipFunction_t function) {
    gGpu->preferShared.insert(*reinterpret_cast<const std::string *>(function));
    return hipSuccess;
  };
  api.hipModuleFunctionAllowDynamicShared = [](hipFunction_t function, int bytes) {
    if (bytes <= 0)
      return hipErrorInvalidValue;
    gGpu->sharedAllowed.insert(*reinterpret_cast<const std::string *>(function));
    return hipSuccess;
  };
  api.hipModuleLaunchKernel = [](hipFunction_t function, unsigned gx, unsigned gy, unsigned gz,
                                 unsigned bx, unsigned by, unsigned bz, unsigned shared,
                                 hipStream_t stream, void **kernelParams, void **extra) {
    return fakeLaunch(false, function, gx, gy, gz, bx, by, bz, shared, stream, kernelParams,
                      extra);
  };
  api.hipModuleLaunchKernelEarly = [](hipFunction_t function, unsigned gx, unsigned gy,
                                      unsigned gz, unsigned bx, unsigned by, unsigned bz,
                                      unsigned shared, hipStream_t stream, void **kernelParams,
                                      void **extra) {
    return fakeLaunch(true, function, gx, gy, gz, bx, by, bz, shared, stream, kernelParams,
                      extra);
  };
  api.hipStreamBeginCapture = [](hipStream_t, hipStreamCaptureMode) {
    gGpu->capturing = true;
    gGpu->captured.clear();
    return hipSuccess;
  };
  api.hipStreamEndCapture = [](hipStream_t, hipGraph_t *graph) {
    gGpu->capturing = false;
    ++gGpu->captures;
    *graph = reinterpret_cast<hipGraph_t>(new std::vector<FakeLaunch>(gGpu->captured));
    return hipSuccess;
  };
  api.hipGraphDestroy = [](hipGraph_t graph) {
    delete reinterpret_cast<std::vector<FakeLaunch> *>(graph);
    return hipSuccess;
  };
  api.hipGraphInstantiate = [](hipGraphExec_t *exec, hipGraph_t graph, hipGraphNode_t *, char *,
                               size_t) {
    *exec = reinterpret_cast<hipGraphExec_t>(
        new std::vector<FakeLaunch>(*reinterpret_cast<std::vector<FakeLaunch> *>(graph)));
    return hipSuccess;
  };
  api.hipGraphExecDestroy = [](hipGraphExec_t exec) {
    delete reinterpret_cast<std::vector<FakeLaunch> *>(exec);
    return hipSuccess;
  };
  api.hipGraphLaunch = [](hipGraphExec_t exec, hipStream_t) {
    ++gGpu->graphLaunches;
    for (const FakeLaunch &launch : *reinterpret_cast<std::vector<FakeLaunch> *>(exec))
      execute(launch);
    return hipSuccess;
  };
  return api;
}

std::vector<std::string> split(const std::string &text) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(text);
  while (std::getline(in, part, ','))
    parts.push_back(part);
  return parts;
}

std::filesystem::path bundlesDir() {
  if (const char *dir = std::getenv("GRETA_GPU_BUNDLES"); dir && *dir)
    return dir;
  return GRETA_DEFAULT_GPU_BUNDLES;
}

class HipExecutorFakeTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::error_code error;
    for (const auto &entry : std::filesystem::directory_iterator(bundlesDir(), error))
      if (entry.is_directory() && entry.path().extension() == ".greta")
        paths_.push_back(entry.path());
    std::sort(paths_.begin(), paths_.end());
    if (paths_.empty())
      GTEST_SKIP() << "no bundles in " << bundlesDir()
                   << " (run scripts/make-gpu-bundles.sh, or set GRETA_GPU_BUNDLES)";
    gpu_ = std::make_unique<FakeGpu>();
    gGpu = gpu_.get();
    api_ = fakeGpuApi();
    platform_.api = &api_;
    platform_.vendor = Vendor::Nvidia;
    platform_.platformName = "fake";
    platform_.device.name = "Fake GPU";
    platform_.device.arch = "sm_90";
    platform_.device.warpSize = 32;
    platform_.device.maxThreadsPerBlock = 1024;
    platform_.device.sharedMemoryPerBlockOptin = 227 * 1024; // an H100's
    platform_.compiler = {&api_, Vendor::Nvidia, "fakeRTC", "0.0", "none", {}};
  }
  void TearDown() override { gGpu = nullptr; }

  /// Registers the Params layout of every kernel of `manifest` with the fake device.
  void describe(const bundle::Manifest &manifest) {
    for (const bundle::KernelSpec &kernel : manifest.kernels) {
      const std::vector<std::string> fields = split(bundle::stringParam(kernel, "param_fields"));
      size_t bytes = 0;
      for (const std::string &f : fields)
        bytes += f == "rows" || f == "ctx" ? 4 : 8;
      gGpu->paramBytes[kernel.entry] = bytes;
      gGpu->paramBytes[kernel.entry + "#vocab"] = manifest.model.vocab;
      gGpu->fields[kernel.entry] = fields;
      gGpu->families[kernel.entry] = kernel.family;
    }
  }

  /// The first bundle, its kernels registered with the fake device.
  std::unique_ptr<bundle::Bundle> openFirstBundle() {
    std::unique_ptr<bundle::Bundle> b = bundle::Bundle::open(paths_.front().string());
    describe(b->manifest());
    return b;
  }

  /// An executor of `bundle` for 32 positions and batches of 8, with `options` and no kernel
  /// cache; token 3 at position 0 uploaded.
  std::unique_ptr<HipExecutor> smallExecutor(const bundle::Bundle &bundle,
                                             HipExecutorOptions options) {
    options.compiler.cacheDirectory.clear();
    auto executor = std::make_unique<HipExecutor>(
        bundle, platform_, engine::ExecutorOptions{.context = 32, .maxBatch = 8}, options);
    executor->tokens()[0] = 3;
    executor->positions()[0] = 0;
    return executor;
  }

  std::vector<std::filesystem::path> paths_;
  std::unique_ptr<FakeGpu> gpu_;
  HipApi api_;
  HipPlatform platform_;
};

/// Rows of buffer `spec` in a run of `seq` tokens.
uint64_t rowsOf(const bundle::BufferSpec &spec, uint64_t seq, uint64_t context) {
  switch (spec.rows.kind) {
  case bundle::RowExtent::Kind::Seq:
    return seq;
  case bundle::RowExtent::Kind::Last:
    return 1;
  case bundle::RowExtent::Kind::Fixed:
    return spec.rows.count;
  case bundle::RowExtent::Kind::Context:
    return context;
  }
  return 0;
}

/// Checks `launches` (as run) against `plan` for a run of `seq` tokens: entry, grid, block,
/// and every Params field, computed here by the rules of codegen/KernelABI.h.
void checkLaunches(const bundle::Manifest &m, const bundle::PhasePlan &plan,
                   const std::vector<FakeLaunch> &launches, uint64_t seq, uint64_t context,
                   const HipExecutor &executor) {
  static const std::map<std::string, std::string> kRowsArg = {{"embedding", "out"},
                                                              {"rms_norm", "out"},
                                                              {"add_rms_norm", "out"},
                                                              {"matmul", "out"},
                                                              {"matmul_gate_up", "out"},
                                                              {"matmul_qkv", "q"},
                                                              {"rope", "x"},
                                                              {"kv_append", "k"},
                                                              {"rope_kv_append", "q"},
                                                              {"attention", "out"},
                                                              {"silu_mul", "out"},
                                                              {"add", "out"},
                                                              {"lm_head", "x"},
                                                              {"audit_stats", "x"},
                                                              {"dequant_f16", "out"},
                                                              {"cast_f16", "out"}};
  ASSERT_EQ(launches.size(), plan.launches.size());
  for (size_t i = 0; i < launches.size(); ++i) {
    const bundle::Launch &launch = plan.launches[i];
    const bundle::KernelSpec &kernel = *m.findKernel(launch.kernel);
    const FakeLaunch &got = launches[i];
    SCOPED_TRACE(fmt::format("launch {} ({}), seq {}", i, kernel.name, seq));
    EXPECT_EQ(got.entry, kernel.entry);
    EXPECT_EQ(got.block, static_cast<unsigned>(std::get<int64_t>(kernel.params.at("block"))));
    const auto shared = kernel.params.find("shared_bytes");
    EXPECT_EQ(got.shared, shared == kernel.params.end()
                              ? 0u
                              : static_cast<unsigned>(std::get<int64_t>(shared->second)));
    for (size_t d = 0; d < 3; ++d) {
      const bundle::GridDim g = d < launch.grid.size() ? launch.grid[d] : bundle::GridDim{};
      const int64_t want = (g.mul * static_cast<int64_t>(seq) + g.add + g.div - 1) / g.div;
      EXPECT_EQ(got.grid[d], static_cast<unsigned>(want)) << "grid dimension " << d;
    }
    const uint64_t S =
        rowsOf(*m.findBuffer(launch.args.at(kRowsArg.at(kernel.family))), seq, context);
    size_t offset = 0;
    for (const std::string &field : split(bundle::stringParam(kernel, "param_fields"))) {
      if (field == "rows" || field == "ctx") {
        int32_t value = 0;
        std::memcpy(&value, got.params.data() + offset, 4);
        EXPECT_EQ(value, static_cast<int32_t>(field == "rows" ? S : context)) << field;
        offset += 4;
        continue;
      }
      const void *pointer = nullptr;
      std::memcpy(&pointer, got.params.data() + offset, 8);
      offset += 8;
      const void *want = nullptr;
      if (field == "freqs") {
        if (auto freqs = bundle::ropeFreqsParam(kernel))
          want = executor.weightAddress(*freqs);
      } else if (auto arg = launch.args.find(field); arg != launch.args.end()) {
        if (auto weight = bundle::weightRefName(arg->second)) {
          want = executor.weightAddress(*weight);
        } else {
          const bundle::BufferSpec &buffer = *m.findBuffer(arg->second);
          const uint64_t rows = rowsOf(buffer, seq, context);
          const uint64_t rowBytes = buffer.cols * bundle::bytesOf(buffer.dtype);
          uint64_t first = rows - S; // per-row arguments: the last S rows
          if (buffer.kind == bundle::BufferKind::Kv || buffer.kind == bundle::BufferKind::Audit ||
              buffer.kind == bundle::BufferKind::Scratch ||
              (kernel.family == "lm_head" && field == "out"))
            first = 0;
          else if ((kernel.family == "lm_head" || kernel.family == "audit_stats") && field == "x")
            first = rows - 1;
          want =
              static_cast<const uint8_t *>(executor.bufferAddress(arg->second)) + first * rowBytes;
        }
      }
      EXPECT_EQ(pointer, want) << "field " << field;
      if (field != "freqs") {
        EXPECT_NE(pointer, nullptr) << "field " << field;
      }
    }
    EXPECT_EQ(offset, got.params.size());
  }
}

// Tests the launches of a prefill and of decode steps (graph captured once, then replayed),
// the token/position uploads and the logits and audit records read back, on every bundle.
TEST_F(HipExecutorFakeTest, PacksParamsAndReplaysDecodeGraph) {
  for (const auto &path : paths_) {
    SCOPED_TRACE(path.string());
    const std::unique_ptr<bundle::Bundle> b = bundle::Bundle::open(path.string());
    const bundle::Manifest &m = b->manifest();
    EXPECT_EQ(hipUnsupportedReason(*b), "");
    describe(m);
    constexpr uint64_t kContext = 64;
    HipExecutor *executor = nullptr;
    HipExecutorOptions options;
    options.poison = true;
    options.compiler.cacheDirectory.clear();
    engine::Session session(
        *b, {.context = kContext,
             .maxBatch = 16,
             .executor = [&](const bundle::Bundle &bundle, const engine::ExecutorOptions &o)
                 -> std::unique_ptr<engine::PlanExecutor> {
               auto made = std::make_unique<HipExecutor>(bundle, platform_, o, options);
               executor = made.get();
               return made;
             }});
    ASSERT_NE(executor, nullptr);
    EXPECT_EQ(session.device(), "hip");
    EXPECT_GT(executor->loadStats().weightBytes, 0u);
    EXPECT_GT(executor->loadStats().kernels, 0u);

    // Prefill: 12 tokens in one run.
    const std::vector<int32_t> prompt = {5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    gGpu->executed.clear();
    gGpu->logitsBase = 100;
    std::span<const float> logits = session.prefill(prompt);
    checkLaunches(m, m.prefill, gGpu->executed, prompt.size(), kContext, *executor);
    ASSERT_EQ(logits.size(), m.model.vocab);
    EXPECT_EQ(logits[0], 100.0f);
    EXPECT_EQ(logits[m.model.vocab - 1], 100.0f + (m.model.vocab - 1));
    const auto *tokens = static_cast<const int32_t *>(executor->bufferAddress("tokens"));
    const auto *positions = static_cast<const int32_t *>(executor->bufferAddress("positions"));
    for (size_t i = 0; i < prompt.size(); ++i) {
      EXPECT_EQ(tokens[i], prompt[i]);
      EXPECT_EQ(positions[i], static_cast<int32_t>(i));
    }
    for (const engine::AuditRecord &record : session.audits())
      EXPECT_EQ(record.stats.top1Id, 7) << record.point;
    EXPECT_EQ(session.audits().size(), m.prefill.audits.size());
    EXPECT_EQ(gGpu->captures, 0u);

    // Decode: the first step captures the plan and replays it; later ones only replay.
    for (int step = 0; step < 3; ++step) {
      gGpu->executed.clear();
      gGpu->logitsBase = 200.0f + step;
      logits = session.decode(40 + step);
      EXPECT_EQ(gGpu->captures, 1u);
      EXPECT_EQ(gGpu->graphLaunches, static_cast<size_t>(step + 1));
      checkLaunches(m, m.decode, gGpu->executed, 1, kContext, *executor);
      EXPECT_EQ(logits[3], 203.0f + step);
      EXPECT_EQ(tokens[0], 40 + step);
      EXPECT_EQ(positions[0], static_cast<int32_t>(prompt.size()) + step);
    }
    EXPECT_EQ(executor->graphReplays(), 3u);

    // A prompt longer than the batch runs as chunks; the last chunk's logits come back.
    session.reset();
    std::vector<int32_t> longPrompt(20, 9);
    gGpu->executed.clear();
    gGpu->logitsBase = 300;
    logits = session.prefill(longPrompt);
    EXPECT_EQ(gGpu->executed.size(), 2 * m.prefill.launches.size());
    EXPECT_EQ(logits[1], 301.0f);
    EXPECT_EQ(positions[3], 19); // the second chunk: positions 16..19
    gGpu->captures = gGpu->graphLaunches = 0;
  }
  EXPECT_EQ(gGpu->liveAllocations, 0u) << "every device allocation is freed";
}

// Tests that without graphs every decode step launches the plan directly, and that a launch
// observer (audit row captures) sees every launch and reads rows through lastRow().
TEST_F(HipExecutorFakeTest, EagerDecodeAndObservedRuns) {
  const std::unique_ptr<bundle::Bundle> b = openFirstBundle();
  HipExecutorOptions options;
  options.useGraph = false;
  const std::unique_ptr<HipExecutor> made = smallExecutor(*b, options);
  HipExecutor &executor = *made;
  executor.run(bundle::PhaseKind::Decode, 1);
  executor.run(bundle::PhaseKind::Decode, 1);
  EXPECT_EQ(gGpu->captures, 0u);
  EXPECT_EQ(gGpu->executed.size(), 2 * b->manifest().decode.launches.size());

  size_t observed = 0;
  gGpu->executed.clear();
  executor.run(bundle::PhaseKind::Prefill, 1, [&](size_t index) {
    EXPECT_EQ(index, observed++);
    const std::string &out = b->manifest().prefill.audits.empty()
                                 ? b->manifest().prefill.logits
                                 : b->manifest().prefill.audits.front().buffer;
    EXPECT_EQ(executor.lastRow(out, 1).size(), b->manifest().findBuffer(out)->cols);
  });
  EXPECT_EQ(observed, b->manifest().prefill.launches.size());
  EXPECT_THROW(executor.run(bundle::PhaseKind::Prefill, 9), Error); // above maxBatch
  EXPECT_THROW(executor.run(bundle::PhaseKind::Decode, 2), Error);
}

/// Whether each executed launch was started early, in order.
std::vector<bool> earlyFlags() {
  std::vector<bool> flags;
  for (const FakeLaunch &launch : gGpu->executed)
    flags.push_back(launch.early);
  return flags;
}

/// What the executor should do for decode's `plan`: early for every launch after the first whose
/// kernel the manifest lets start early.
std::vector<bool> expectedEarly(const bundle::Manifest &manifest, const bundle::PhasePlan &plan) {
  std::vector<bool> flags;
  for (size_t i = 0; i < plan.launches.size(); ++i)
    flags.push_back(i > 0 && manifest.findKernel(plan.launches[i].kernel)->earlyStart);
  return flags;
}

// Tests that decode kernels whose manifest entry allows it start early, eagerly and in the
// captured graph, except the first launch (it follows the input copies); that prefill's, a
// single launch's and a timed (profiled) launch's never do; and that the option turns it off.
// The compiler marks every kernel it emits today, so the bundle must have some.
// Tests that prefill's weight decodes (dequant_f16) run on a second stream, behind the main
// one in priority, and that every product reading a decoded matrix waits on the main stream
// for an event recorded on the side stream after that decode; with the side stream off (and
// while profiling) one stream runs everything and nothing waits.
TEST_F(HipExecutorFakeTest, PrefillDecodesRunBesideTheProducts) {
  std::unique_ptr<bundle::Bundle> b;
  for (const auto &path : paths_) {
    b = bundle::Bundle::open(path.string());
    const auto &launches = b->manifest().prefill.launches;
    if (std::any_of(launches.begin(), launches.end(), [&](const bundle::Launch &l) {
          return b->manifest().findKernel(l.kernel)->family == "dequant_f16";
        }))
      break;
    b.reset();
  }
  if (!b)
    GTEST_SKIP() << "no bundle decodes its prefill weights to binary16";
  const bundle::Manifest &m = b->manifest();
  describe(m);
  auto familyOf = [&](const std::string &entry) { return gGpu->families.at(entry); };
  {
    const std::unique_ptr<HipExecutor> executor = smallExecutor(*b, HipExecutorOptions{});
    gGpu->streamOps.clear();
    executor->run(bundle::PhaseKind::Prefill, 2);
    const std::vector<FakeStreamOp> &ops = gGpu->streamOps;
    const void *mainStream = nullptr, *sideStream = nullptr;
    // The plan's launches in order, with the index of each one's op.
    std::vector<size_t> launchOps;
    for (size_t i = 0; i < ops.size(); ++i)
      if (ops[i].kind == FakeStreamOp::Kind::Launch)
        launchOps.push_back(i);
    ASSERT_EQ(launchOps.size(), m.prefill.launches.size());
    for (size_t i : launchOps) {
      const void *&stream = familyOf(ops[i].entry) == "dequant_f16" ? sideStream : mainStream;
      if (!stream)
        stream = ops[i].stream;
      EXPECT_EQ(ops[i].stream, stream) << ops[i].entry;
    }
    ASSERT_NE(mainStream, sideStream);
    EXPECT_TRUE(gGpu->priorityStreams.count(mainStream));
    EXPECT_FALSE(gGpu->priorityStreams.count(sideStream));
    // Each product that reads a scratch buffer waits for the decode that wrote it last.
    std::map<std::string, size_t> writerOp; // scratch buffer -> op of its last decode
    for (size_t n = 0; n < launchOps.size(); ++n) {
      const bundle::Launch &launch = m.prefill.launches[n];
      const size_t at = launchOps[n];
      if (familyOf(ops[at].entry) == "dequant_f16") {
        EXPECT_TRUE(gGpu->preferShared.count(ops[at].entry)) << ops[at].entry;
        writerOp[launch.args.at("out")] = at;
        continue;
      }
      for (const auto &[arg, buffer] : launch.args) {
        auto writer = writerOp.find(buffer);
        if (writer == writerOp.end())
          continue;
        // A wait on this stream after the decode, for an event last recorded on the side
        // stream after the decode.
        bool ordered = false;
        for (size_t w = writer->second + 1; w < at && !ordered; ++w) {
          if (ops[w].kind != FakeStreamOp::Kind::Wait || ops[w].stream != mainStream)
            continue;
          for (size_t r = w; r-- > writer->second;)
            if (ops[r].kind == FakeStreamOp::Kind::Record && ops[r].event == ops[w].event) {
              ordered = ops[r].stream == sideStream;
              break;
            }
        }
        EXPECT_TRUE(ordered) << "prefill launch " << n << " (" << ops[at].entry << ") reads "
                             << buffer << " without waiting for its decode";
      }
    }
    // The phase ends with the main stream waiting for the side stream's last launch.
    ASSERT_FALSE(ops.empty());
    EXPECT_EQ(ops.back().kind, FakeStreamOp::Kind::Wait);
    EXPECT_EQ(ops.back().stream, mainStream);
  }
  for (bool sideStream : {false, true}) {
    HipExecutorOptions options;
    options.sideStream = sideStream;
    options.profile = sideStream; // timed launches run on one stream too
    testing::internal::CaptureStderr();
    {
      const std::unique_ptr<HipExecutor> executor = smallExecutor(*b, options);
      gGpu->streamOps.clear();
      executor->run(bundle::PhaseKind::Prefill, 2);
      std::set<const void *> streams;
      for (const FakeStreamOp &op : gGpu->streamOps) {
        EXPECT_NE(op.kind, FakeStreamOp::Kind::Wait) << "side stream " << sideStream;
        if (op.kind == FakeStreamOp::Kind::Launch)
          streams.insert(op.stream);
      }
      EXPECT_EQ(streams.size(), 1u) << "side stream " << sideStream;
    }
    (void)testing::internal::GetCapturedStderr();
  }
}

TEST_F(HipExecutorFakeTest, KernelsStartEarlyWhereTheManifestAllows) {
  const std::unique_ptr<bundle::Bundle> b = openFirstBundle();
  const bundle::Manifest &manifest = b->manifest();
  ASSERT_TRUE(std::any_of(manifest.kernels.begin(), manifest.kernels.end(),
                          [](const bundle::KernelSpec &k) { return k.earlyStart; }));
  {
    HipExecutorOptions eager;
    eager.useGraph = false;
    const std::unique_ptr<HipExecutor> direct = smallExecutor(*b, eager);
    direct->run(bundle::PhaseKind::Decode, 1);
    EXPECT_EQ(earlyFlags(), expectedEarly(manifest, manifest.decode));
    gGpu->executed.clear();
    const std::unique_ptr<HipExecutor> executor = smallExecutor(*b, HipExecutorOptions{});
    executor->run(bundle::PhaseKind::Prefill, 2);
    EXPECT_EQ(earlyFlags(), std::vector<bool>(manifest.prefill.launches.size(), false));
    gGpu->executed.clear();
    executor->run(bundle::PhaseKind::Decode, 1); // captured, then replayed
    EXPECT_EQ(gGpu->captures, 1u);
    EXPECT_EQ(earlyFlags(), expectedEarly(manifest, manifest.decode));
    gGpu->executed.clear();
    executor->runLaunch(bundle::PhaseKind::Decode, 1, 1); // alone: nothing to overlap
    EXPECT_EQ(earlyFlags(), std::vector<bool>{false});
    gGpu->executed.clear();
    executor->setProfiling(true);
    executor->run(bundle::PhaseKind::Decode, 1);
    EXPECT_EQ(earlyFlags(), std::vector<bool>(manifest.decode.launches.size(), false));
    EXPECT_NE(executor->description().find("early start allowed for"), std::string::npos);
  }
  gGpu->executed.clear();
  HipExecutorOptions off;
  off.earlyStart = false;
  const std::unique_ptr<HipExecutor> executor = smallExecutor(*b, off);
  executor->run(bundle::PhaseKind::Decode, 1);
  EXPECT_EQ(earlyFlags(), std::vector<bool>(manifest.decode.launches.size(), false));
  EXPECT_NE(executor->description().find("early start off"), std::string::npos);
}

// Tests that profiling times every launch: decode runs launch by launch (no graph), and the
// table printed at the end names the kernels.
TEST_F(HipExecutorFakeTest, ProfileTimesEveryLaunch) {
  const std::unique_ptr<bundle::Bundle> b = openFirstBundle();
  HipExecutorOptions options;
  options.profile = true;
  testing::internal::CaptureStderr();
  {
    const std::unique_ptr<HipExecutor> executor = smallExecutor(*b, options);
    executor->run(bundle::PhaseKind::Prefill, 1);
    executor->positions()[0] = 1;
    executor->run(bundle::PhaseKind::Decode, 1);
    executor->positions()[0] = 2;
    executor->run(bundle::PhaseKind::Decode, 1);
    EXPECT_EQ(gGpu->captures, 0u);
  }
  const std::string table = testing::internal::GetCapturedStderr();
  const bundle::KernelSpec &first =
      *b->manifest().findKernel(b->manifest().decode.launches[0].kernel);
  EXPECT_NE(table.find("decode " + first.name), std::string::npos) << table;
  EXPECT_NE(table.find("GB/s"), std::string::npos) << table;
}

// Tests that profiling can be switched on and off between runs (greta-bench --profile): while
// on, every decode launch is timed into profile() (launch by launch, the graph left alone);
// when off, decode replays its graph again; nothing is printed without the profile option.
TEST_F(HipExecutorFakeTest, ProfilingSwitchesAtRunTime) {
  const std::unique_ptr<bundle::Bundle> b = openFirstBundle();
  testing::internal::CaptureStderr();
  {
    const std::unique_ptr<HipExecutor> made = smallExecutor(*b, HipExecutorOptions{});
    HipExecutor &executor = *made;
    executor.run(bundle::PhaseKind::Decode, 1);
    EXPECT_EQ(executor.graphReplays(), 1u);
    EXPECT_TRUE(executor.profile().empty());

    executor.setProfiling(true);
    for (int32_t position : {1, 2}) {
      executor.positions()[0] = position;
      executor.run(bundle::PhaseKind::Decode, 1);
    }
    EXPECT_EQ(executor.graphReplays(), 1u);
    const size_t launches = b->manifest().decode.launches.size();
    uint64_t timed = 0;
    for (const engine::KernelTiming &row : executor.profile().kernels()) {
      EXPECT_EQ(row.phase, "decode");
      timed += row.launches;
      // The fake's events are 0.5 ms apart.
      EXPECT_NEAR(row.seconds, 0.5e-3 * static_cast<double>(row.launches), 1e-9) << row.kernel;
    }
    EXPECT_EQ(timed, 2 * launches);
    EXPECT_NEAR(executor.profile().totalSeconds("decode"), 2 * launches * 0.5e-3, 1e-9);

    executor.setProfiling(false);
    executor.positions()[0] = 3;
    executor.run(bundle::PhaseKind::Decode, 1);
    EXPECT_EQ(executor.graphReplays(), 2u);
    EXPECT_NEAR(executor.profile().totalSeconds(), 2 * launches * 0.5e-3, 1e-9); // unchanged
  }
  EXPECT_EQ(testing::internal::GetCapturedStderr().find("greta-hip-profile"), std::string::npos);
}

} // namespace
} // namespace greta::hip
