// GPU tests of the HIP executor (label `gpu`): whole compiled bundles run on the GPU through
// engine::Session, against the CPU backend on the same bundle.
//
// The bundles are compiled beforehand (the GPU machine has no MLIR) by
// scripts/make-gpu-bundles.sh into a folder named by GRETA_GPU_BUNDLES (every NAME.greta directly
// inside it is tested). Every test skips itself, saying why, where no GPU is usable or the folder
// is missing or empty.
//
// Tolerances. Decode (gemv) dequantises weights to f32 and accumulates in f32, as the CPU
// backend does. Prefill's GEMMs run on the matrix units: inputs and dequantised weights are
// rounded to binary16 (unit roundoff u = 2^-11 ≈ 4.9e-4), products accumulate in f32. Each
// operand's rounding is a relative error uniform in [-u, u] (RMS u/√3), so a dot product of
// independent terms has relative error ≈ u·√(2/3) ≈ 4e-4 per GEMM; the chain of GEMMs to the
// logits of the 2–3-layer tiny models adds a few of those in quadrature: ≈ 1e-3 expected.
// Everything downstream of a prefill (its logits, and decode steps reading its KV cache) is
// held to kFp16Tolerance = 5e-3 (a 5x margin), and to the issue's 1e-2. So:
//   * GPU vs CPU logits (prefill's last row and 8 decode steps): relative L2 error
//     ||gpu - cpu|| / ||cpu|| per row <= 1e-2 (the issue's bound for fp16 paths), and <= 5e-3
//     for every bundle (the figures are printed);
//   * greedy 32-token continuations identical to the CPU's on the F32 and Q8_0 bundles;
//   * prefill/decode consistency on the GPU (decode at position N vs prefill of the same N+1
//     tokens, last row; f32 gemv vs f16 gemm routes): relative L2 <= 5e-3;
//   * graph replay vs launch by launch: bit-identical logits (the kernels use no
//     order-dependent atomics; split-K adds its partials in a fixed order).
// All GPU sessions poison their buffers (0xFF bytes: NaN floats) at load and before every run,
// so an element no kernel wrote shows up as NaN and fails the comparisons.
//
// Lines starting "GRETA_GPU" / "GRETA_BENCH" are copied into scripts/gpu-check.sh's summary.

#include "runtime/bundle/bundle.h"
#include "runtime/engine/session.h"
#include "runtime/hip/hip_executor.h"
#include "runtime/hip/hip_platform.h"
#include "test/unit/hip/hip_test_support.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace greta::hip {
namespace {

constexpr uint64_t kContext = 256;
constexpr int kDecodeSteps = 8;
constexpr int kGreedyTokens = 32;
constexpr double kIssueTolerance = 1e-2;
constexpr double kFp16Tolerance = 5e-3;
// 12 plain vocabulary ids (test/e2e/e2e_support.py's PROMPT).
const std::vector<int32_t> kPrompt = {538, 40, 72, 101, 108, 108, 111, 44, 32, 119, 111, 114};

double relL2(std::span<const float> got, std::span<const float> want) {
  if (got.size() != want.size())
    return INFINITY;
  double num = 0, den = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double d = static_cast<double>(got[i]) - want[i];
    num += d * d;
    den += static_cast<double>(want[i]) * want[i];
  }
  if (std::isnan(num))
    return INFINITY;
  return std::sqrt(num) / std::max(std::sqrt(den), 1e-30);
}

double maxAbsDiff(std::span<const float> a, std::span<const float> b) {
  double worst = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i)
    worst = std::max(worst, std::abs(static_cast<double>(a[i]) - b[i]));
  return worst;
}

int32_t argmax(std::span<const float> logits) {
  return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

bool allFinite(std::span<const float> values) {
  return std::all_of(values.begin(), values.end(), [](float v) { return std::isfinite(v); });
}

std::vector<float> copy(std::span<const float> values) { return {values.begin(), values.end()}; }

struct TestBundle {
  std::string name;
  std::unique_ptr<bundle::Bundle> bundle;
  /// Greedy continuations must match the CPU exactly (F32 and Q8_0 weights).
  bool exactGreedy = false;
};

class HipExecutorGpuTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    if (platform_ || !skipReason_.empty())
      return;
    if (!test::openSuitePlatform(platform_, skipReason_))
      return;
    const std::vector<std::filesystem::path> paths = test::gpuBundlePaths("", skipReason_);
    if (paths.empty())
      return;
    for (const auto &path : paths) {
      TestBundle b;
      b.name = path.stem().string();
      b.bundle = bundle::Bundle::open(path.string());
      b.exactGreedy =
          b.name.find("-f32") != std::string::npos || b.name.find("-q8_0") != std::string::npos;
      bundles_.push_back(std::move(b));
    }
  }

  static void TearDownTestSuite() { bundles_.clear(); }

  void SetUp() override {
    if (!skipReason_.empty())
      GTEST_SKIP() << skipReason_;
    GRETA_HIP_CHECK(*platform_->api, hipSetDevice(platform_->device.ordinal));
  }

  /// Poisoned buffers; kernels from the default disk cache, shared by the test processes.
  static HipExecutorOptions gpuOptions(bool useGraph = true) {
    HipExecutorOptions options;
    options.useGraph = useGraph;
    options.poison = true;
    return options;
  }

  static std::unique_ptr<engine::Session> gpuSession(const bundle::Bundle &bundle,
                                                     bool useGraph = true, uint64_t maxBatch = 0) {
    return std::make_unique<engine::Session>(
        bundle,
        engine::SessionOptions{.context = kContext,
                               .maxBatch = maxBatch,
                               .executor = hipExecutorFactory(*platform_, gpuOptions(useGraph))});
  }
  static std::unique_ptr<engine::Session> cpuSession(const bundle::Bundle &bundle,
                                                     uint64_t maxBatch = 0) {
    return std::make_unique<engine::Session>(
        bundle, engine::SessionOptions{.context = kContext, .maxBatch = maxBatch});
  }

  static inline std::optional<HipPlatform> platform_;
  static inline std::string skipReason_;
  static inline std::vector<TestBundle> bundles_;
};

// Tests GPU logits against the CPU backend's for prefill and 8 decode steps (the CPU's greedy
// tokens fed to both), and that the GPU's audit records agree with its logits.
TEST_F(HipExecutorGpuTest, LogitsMatchCpuPrefillAndDecode) {
  for (const TestBundle &b : bundles_) {
    SCOPED_TRACE(b.name);
    auto cpu = cpuSession(*b.bundle);
    auto gpu = gpuSession(*b.bundle);
    std::vector<float> want = copy(cpu->prefill(kPrompt));
    std::vector<float> got = copy(gpu->prefill(kPrompt));
    ASSERT_TRUE(allFinite(got)) << "prefill logits hold NaN/inf (an element never written?)";
    double prefillError = relL2(got, want), decodeError = 0;
    EXPECT_LE(prefillError, kIssueTolerance);
    EXPECT_LE(prefillError, kFp16Tolerance);
    for (const engine::AuditRecord &record : gpu->audits())
      if (record.point == bundle::kLmHeadPoint) {
        EXPECT_EQ(record.stats.top1Id, argmax(got)) << "prefill lm_head audit record";
      }
    EXPECT_EQ(gpu->audits().size(), cpu->audits().size());
    for (int step = 0; step < kDecodeSteps; ++step) {
      const int32_t token = argmax(want);
      want = copy(cpu->decode(token));
      got = copy(gpu->decode(token));
      ASSERT_TRUE(allFinite(got)) << "decode step " << step << " logits hold NaN/inf";
      const double error = relL2(got, want);
      decodeError = std::max(decodeError, error);
      EXPECT_LE(error, kIssueTolerance) << "decode step " << step;
      EXPECT_LE(error, kFp16Tolerance) << "decode step " << step;
      for (const engine::AuditRecord &record : gpu->audits())
        if (record.point == bundle::kLmHeadPoint) {
          EXPECT_EQ(record.stats.top1Id, argmax(got)) << "decode step " << step;
        }
    }
    std::cout << fmt::format("GRETA_GPU logits vs cpu {:<22} prefill rel {:.2e}, decode x{} max "
                             "rel {:.2e}\n",
                             b.name, prefillError, kDecodeSteps, decodeError);
  }
}

// Tests that greedy 32-token continuations on the GPU are the CPU's, token for token, on the
// F32 and Q8_0 bundles (and reports agreement on the others).
TEST_F(HipExecutorGpuTest, GreedyContinuationIdenticalToCpu) {
  for (const TestBundle &b : bundles_) {
    SCOPED_TRACE(b.name);
    auto generate = [&](engine::Session &session) {
      std::vector<int32_t> tokens;
      std::span<const float> logits = session.prefill(kPrompt);
      for (int i = 0; i < kGreedyTokens; ++i) {
        tokens.push_back(argmax(logits));
        if (i + 1 < kGreedyTokens)
          logits = session.decode(tokens.back());
      }
      return tokens;
    };
    const std::vector<int32_t> want = generate(*cpuSession(*b.bundle));
    const std::vector<int32_t> got = generate(*gpuSession(*b.bundle));
    size_t same = 0;
    while (same < want.size() && got[same] == want[same])
      ++same;
    std::cout << fmt::format("GRETA_GPU greedy {} tokens {:<22} {}\n", kGreedyTokens, b.name,
                             same == want.size() ? "identical to cpu"
                                                 : fmt::format("first differs at {}", same));
    if (b.exactGreedy) {
      EXPECT_EQ(got, want);
    }
  }
}

// Tests prefill/decode consistency on the GPU: decode at position N after a prefill of N tokens
// gives the logits of a prefill of the same N+1 tokens, for several consecutive steps.
TEST_F(HipExecutorGpuTest, PrefillDecodeConsistentOnGpu) {
  for (const TestBundle &b : bundles_) {
    SCOPED_TRACE(b.name);
    auto gpu = gpuSession(*b.bundle);
    auto fresh = gpuSession(*b.bundle);
    std::vector<int32_t> tokens = kPrompt;
    std::vector<float> logits = copy(gpu->prefill(tokens));
    double worst = 0;
    for (int step = 0; step < 4; ++step) {
      const int32_t token = argmax(logits);
      const std::vector<float> decoded = copy(gpu->decode(token)); // at position tokens.size()
      tokens.push_back(token);
      fresh->reset();
      const std::vector<float> prefilled = copy(fresh->prefill(tokens));
      const double error = relL2(decoded, prefilled);
      worst = std::max(worst, error);
      EXPECT_LE(error, kFp16Tolerance) << "position " << tokens.size() - 1;
      logits = decoded;
    }
    std::cout << fmt::format("GRETA_GPU prefill/decode consistency {:<22} max rel {:.2e}\n", b.name,
                             worst);
  }
}

// Tests that replaying the captured decode graph gives bit-identical logits to launching the
// decode plan kernel by kernel, and that decode steps after the first really replay the graph.
TEST_F(HipExecutorGpuTest, GraphReplayMatchesDirectLaunches) {
  for (const TestBundle &b : bundles_) {
    SCOPED_TRACE(b.name);
    HipExecutor *graphExecutor = nullptr;
    const HipExecutorOptions graphOptions = gpuOptions(true);
    engine::SessionOptions withGraph{
        .context = kContext,
        .executor = [&](const bundle::Bundle &bundle, const engine::ExecutorOptions &options)
            -> std::unique_ptr<engine::PlanExecutor> {
          auto executor = std::make_unique<HipExecutor>(bundle, *platform_, options, graphOptions);
          graphExecutor = executor.get();
          return executor;
        }};
    engine::Session graph(*b.bundle, withGraph);
    auto direct = gpuSession(*b.bundle, /*useGraph=*/false);
    std::vector<float> a = copy(graph.prefill(kPrompt));
    std::vector<float> d = copy(direct->prefill(kPrompt));
    EXPECT_EQ(a, d) << "prefill";
    for (int step = 0; step < kDecodeSteps; ++step) {
      const int32_t token = argmax(d);
      a = copy(graph.decode(token));
      d = copy(direct->decode(token));
      ASSERT_TRUE(allFinite(a)) << "step " << step;
      EXPECT_EQ(a, d) << "decode step " << step << " (rel " << relL2(a, d) << ")";
    }
    ASSERT_NE(graphExecutor, nullptr);
    EXPECT_EQ(graphExecutor->graphReplays(), static_cast<uint64_t>(kDecodeSteps));
  }
}

// Tests prompts longer than the batch: several prefill runs (chunks of dynamic seq) give the
// CPU's logits, as one run does.
TEST_F(HipExecutorGpuTest, ChunkedPrefillMatchesCpu) {
  for (const TestBundle &b : bundles_) {
    SCOPED_TRACE(b.name);
    auto cpu = cpuSession(*b.bundle);
    auto gpu = gpuSession(*b.bundle, true, /*maxBatch=*/5);
    const std::vector<float> want = copy(cpu->prefill(kPrompt));
    const std::vector<float> got = copy(gpu->prefill(kPrompt));
    EXPECT_LE(relL2(got, want), kFp16Tolerance);
  }
}

// Tests the audit path on the GPU: with audit rows captured (launch by launch, rows read right
// after their launch), each point's rows and record agree with the CPU's.
TEST_F(HipExecutorGpuTest, AuditRowsAndRecordsMatchCpu) {
  for (const TestBundle &b : bundles_) {
    SCOPED_TRACE(b.name);
    engine::SessionOptions options{.context = kContext, .captureAuditRows = true};
    engine::Session cpu(*b.bundle, options);
    options.executor = hipExecutorFactory(*platform_, gpuOptions());
    engine::Session gpu(*b.bundle, options);
    std::span<const float> logits = cpu.prefill(kPrompt);
    gpu.prefill(kPrompt);
    for (int step = 0; step < 3; ++step) {
      ASSERT_EQ(gpu.audits().size(), cpu.audits().size());
      for (size_t i = 0; i < cpu.audits().size(); ++i) {
        const engine::AuditRecord &want = cpu.audits()[i];
        const engine::AuditRecord &got = gpu.audits()[i];
        EXPECT_EQ(got.point, want.point);
        EXPECT_EQ(got.phase, want.phase);
        EXPECT_EQ(got.posId, want.posId);
        EXPECT_LE(relL2(got.output, want.output), kFp16Tolerance) << want.point << " step " << step;
        EXPECT_LE(relL2(got.input, want.input), kFp16Tolerance) << want.point << " input";
        EXPECT_EQ(got.stats.count, want.stats.count);
        EXPECT_EQ(got.stats.isLogits, want.stats.isLogits);
        // The top logit cannot change while every logit moves by less than half the gap.
        if (want.stats.isLogits &&
            want.stats.gap > std::max(1e-3, 2 * maxAbsDiff(got.output, want.output))) {
          EXPECT_EQ(got.stats.top1Id, want.stats.top1Id) << want.point;
        }
      }
      const int32_t token = argmax(logits);
      logits = cpu.decode(token);
      gpu.decode(token);
    }
  }
}

// Tests that the poisoning is real: a fresh executor's logits buffer reads NaN before any run.
TEST_F(HipExecutorGpuTest, PoisonFillsBuffersWithNan) {
  const TestBundle &b = bundles_.front();
  HipExecutor executor(*b.bundle, *platform_,
                       engine::ExecutorOptions{.context = kContext, .maxBatch = 16}, gpuOptions());
  const std::vector<uint8_t> bytes = executor.downloadBuffer("logits");
  ASSERT_GE(bytes.size(), 4u);
  float first = 0;
  std::memcpy(&first, bytes.data(), 4);
  EXPECT_TRUE(std::isnan(first));
}

// Tests that a context the device cannot hold fails at load with an out-of-memory error that says
// what was being allocated, how much it needs and how much the device has free.
TEST_F(HipExecutorGpuTest, OutOfMemorySaysWhatAndHowMuch) {
  const TestBundle &b = bundles_.front();
  constexpr uint64_t kHugeContext = uint64_t{1} << 30; // KV caches of several TiB
  try {
    HipExecutor executor(*b.bundle, *platform_,
                         engine::ExecutorOptions{.context = kHugeContext, .maxBatch = 16},
                         gpuOptions());
    FAIL() << "a context of 2^30 tokens was allocated";
  } catch (const HipError &error) {
    EXPECT_TRUE(error.isOutOfMemory()) << error.what();
    const std::string message = error.what();
    EXPECT_NE(message.find("KV caches for 1073741824 tokens"), std::string::npos) << message;
    EXPECT_NE(message.find("free of"), std::string::npos) << message;
    std::cout << "GRETA_GPU out of memory message: " << message << "\n";
  }
  // The device is still usable afterwards.
  auto gpu = gpuSession(*b.bundle);
  EXPECT_TRUE(allFinite(gpu->prefill(kPrompt)));
}

// Decode and prefill speed per bundle (graph replay and launch by launch), for the summary.
TEST_F(HipExecutorGpuTest, Benchmarks) {
  for (const TestBundle &b : bundles_) {
    HipExecutorOptions options = gpuOptions(true);
    options.poison = false;
    for (bool useGraph : {true, false}) {
      options.useGraph = useGraph;
      engine::Session session(
          *b.bundle, {.context = kContext, .executor = hipExecutorFactory(*platform_, options)});
      std::vector<int32_t> prompt(128);
      for (size_t i = 0; i < prompt.size(); ++i)
        prompt[i] = kPrompt[i % kPrompt.size()];
      auto start = std::chrono::steady_clock::now();
      std::span<const float> logits = session.prefill(prompt);
      const double prefillSeconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      for (int i = 0; i < 4; ++i) // warm up (captures the graph)
        logits = session.decode(argmax(logits));
      constexpr int kSteps = 64;
      start = std::chrono::steady_clock::now();
      for (int i = 0; i < kSteps; ++i)
        logits = session.decode(argmax(logits));
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::cout << fmt::format("GRETA_BENCH decode {:<22} {:>5}: {:.0f} tok/s ({:.3f} ms/token); "
                               "prefill 128 tokens {:.0f} tok/s\n",
                               b.name, useGraph ? "graph" : "eager", kSteps / seconds,
                               1e3 * seconds / kSteps, prompt.size() / prefillSeconds);
    }
  }
}

} // namespace
} // namespace greta::hip
