// GPU tests of the audits (issue 6; label `gpu`): the emitted audit_stats kernel's records, and
// the audit tools as a user runs them — greta-run --device hip --audit-out with the CPU probe,
// the RMSNorm check, delta mode and injected faults, then greta-audit-report.
//
// Bundles come from scripts/make-gpu-bundles.sh under GRETA_GPU_BUNDLES: the tiny models directly
// inside (vocab 543: one digest group, one block) and audit/tiny-v128k-q8_0.greta, shaped for
// the reference case (examples/audit-walkthrough): Llama 3's vocabulary size, so 128,256 logits
// — 63 digest groups over 32 blocks —, a chat template, and a block-quantized (Q8_0, tied) LM
// head on gemm in prefill and gemv in decode.
// Every test skips itself, saying why, where no GPU is usable or the bundles are missing.
//
// What must hold on the GPU as on the CPU:
//   * the record's digest equals the CPU's digest of the very row the GPU audited (its logits,
//     or with captured rows the row read right after the audited launch), bit for bit, through
//     graph-replayed decode steps too; min, max and the top two equal (they are exact), mean and
//     sum of squares within rounding (double sums in another order);
//   * the CPU probe and the RMSNorm check agree on healthy bundles;
//   * an injected prefill LM-head fault is named as the LM head's prefill route, a corrupted
//     final norm weight as the RMSNorm; delta mode agrees when healthy and disagrees with the
//     LM-head fault;
//   * identical runs write identical JSONL.

#include "runtime/bundle/bundle.h"
#include "runtime/cpu/kernels/families.h"
#include "runtime/engine/cpu_probe.h"
#include "runtime/engine/session.h"
#include "runtime/hip/hip_executor.h"
#include "runtime/hip/hip_platform.h"
#include "runtime/support/audit_digest.h"
#include "test/unit/hip/hip_test_support.h"
#include "test/unit/support/audit_run.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace greta::hip {
namespace {

using Json = nlohmann::json;
using greta::test::readFile;
using greta::test::RunResult;

constexpr uint64_t kContext = 256;
constexpr int kDecodeSteps = 6;
/// mean and sum of squares: double sums of the same floats in another order.
constexpr double kSumTolerance = 1e-9;
// 12 plain vocabulary ids (test/e2e/e2e_support.py's PROMPT), valid in every test vocabulary.
const std::vector<int32_t> kPrompt = {538, 40, 72, 101, 108, 108, 111, 44, 32, 119, 111, 114};

int32_t argmax(std::span<const float> logits) {
  return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

std::vector<Json> parseJsonl(const std::string &text) {
  std::vector<Json> records;
  size_t start = 0;
  while (start < text.size()) {
    const size_t end = text.find('\n', start);
    const std::string line = text.substr(start, end - start);
    if (!line.empty())
      records.push_back(Json::parse(line));
    if (end == std::string::npos)
      break;
    start = end + 1;
  }
  return records;
}

class AuditGpuTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    if (platform_ || !skipReason_.empty())
      return;
    if (!test::openSuitePlatform(platform_, skipReason_))
      return;
    std::vector<std::filesystem::path> paths = test::gpuBundlePaths("", skipReason_);
    if (paths.empty())
      return;
    const std::vector<std::filesystem::path> audit = test::gpuBundlePaths("audit", skipReason_);
    if (audit.empty())
      return;
    reference_ = audit.front().string();
    paths.insert(paths.end(), audit.begin(), audit.end());
    for (const auto &path : paths)
      bundles_.push_back(path.string());
  }

  void SetUp() override {
    if (!skipReason_.empty())
      GTEST_SKIP() << skipReason_;
  }

  /// greta-run of the reference case on the GPU (the audit/ bundle), records to `name`.jsonl;
  /// returns the JSONL text.
  std::string recordOnGpu(const std::string &name, const std::vector<std::string> &checks) {
    const std::string jsonl = (dir_.path() / (name + ".jsonl")).string();
    std::vector<std::string> extra = {"--device", "hip"};
    extra.insert(extra.end(), checks.begin(), checks.end());
    const RunResult run =
        greta::test::runAuditChat(reference_, jsonl, extra, dir_.path().string());
    EXPECT_EQ(run.exitCode, 0) << run.err;
    return readFile(jsonl);
  }

  /// The route of the reference bundle's prefill LM head kernel, as its manifest says.
  std::string prefillLmHeadRoute() {
    const Json manifest = Json::parse(readFile(reference_ + "/manifest.json"));
    for (const Json &kernel : manifest["kernels"])
      if (kernel["family"] == "lm_head" && kernel["name"].get<std::string>().starts_with("prefill_"))
        return kernel["route"].get<std::string>();
    ADD_FAILURE() << reference_ << ": no prefill lm_head kernel";
    return "";
  }

  /// greta-audit-report --json's overall verdict on the JSONL `name`.jsonl.
  Json verdict(const std::string &name) {
    const RunResult report = greta::test::runBinTool(
        "greta-audit-report", {(dir_.path() / (name + ".jsonl")).string(), "--json"},
        dir_.path().string());
    EXPECT_EQ(report.exitCode, 0) << report.err;
    return Json::parse(report.out)["verdict"];
  }

  static inline std::optional<HipPlatform> platform_;
  static inline std::string skipReason_;
  static inline std::vector<std::string> bundles_;
  static inline std::string reference_;
  test::TemporaryDirectory dir_;
};

/// Expects `got` (a GPU record) to be the CPU's record of `row`, the row the GPU audited.
void expectRecordOfRow(const bundle::AuditStatsRecord &got, std::span<const float> row,
                       const std::string &where) {
  const bundle::AuditStatsRecord want = cpu::computeAuditStats(row, got.isLogits != 0);
  EXPECT_EQ(got.hash, want.hash) << where << fmt::format(": digest {:016x}, the CPU's {:016x}",
                                                         got.hash, want.hash);
  EXPECT_EQ(got.count, want.count) << where;
  EXPECT_EQ(got.min, want.min) << where;
  EXPECT_EQ(got.max, want.max) << where;
  EXPECT_NEAR(got.mean, want.mean, 1e-6 * std::max(1.0f, std::abs(want.mean))) << where;
  EXPECT_NEAR(got.sumSquares, want.sumSquares, kSumTolerance * std::max(1.0, want.sumSquares))
      << where;
  EXPECT_EQ(got.isLogits, want.isLogits) << where;
  EXPECT_EQ(got.top1Id, want.top1Id) << where;
  EXPECT_EQ(got.top1Logit, want.top1Logit) << where;
  EXPECT_EQ(got.top2Id, want.top2Id) << where;
  EXPECT_EQ(got.top2Logit, want.top2Logit) << where;
  EXPECT_EQ(got.gap, want.gap) << where;
}

// Tests that every GPU audit record is the CPU's record of the same row — digest bit for bit —
// over prefill and several decode steps: graph-replayed (the LM head's record against the
// logits returned) and launch by launch with captured rows (every point against its row).
TEST_F(AuditGpuTest, RecordsEqualTheCpusOnTheSameRow) {
  for (const std::string &path : bundles_) {
    const auto bundle = bundle::Bundle::open(path);
    for (bool capture : {false, true}) {
      SCOPED_TRACE(fmt::format("{} ({})", path, capture ? "captured rows" : "graph replay"));
      HipExecutorOptions gpuOptions;
      gpuOptions.poison = true;
      engine::Session gpu(*bundle, {.context = kContext,
                                    .captureAuditRows = capture,
                                    .executor = hipExecutorFactory(*platform_, gpuOptions)});
      size_t checked = 0;
      auto check = [&](std::span<const float> logits, const std::string &step) {
        for (const engine::AuditRecord &record : gpu.audits()) {
          const bool head = record.point == bundle::kLmHeadPoint;
          std::span<const float> row = capture ? std::span<const float>(record.output)
                                               : head  ? logits
                                                       : std::span<const float>();
          if (row.empty())
            continue;
          expectRecordOfRow(record.stats, row, record.point + " at " + step);
          ++checked;
        }
      };
      std::span<const float> logits = gpu.prefill(kPrompt);
      check(logits, "prefill");
      for (int step = 0; step < kDecodeSteps; ++step) {
        logits = gpu.decode(argmax(logits));
        check(logits, fmt::format("decode step {}", step));
      }
      EXPECT_GE(checked, static_cast<size_t>(1 + kDecodeSteps)) << "no records were checked";
      if (capture)
        std::cout << fmt::format("GRETA_GPU audit records {:<24} vocab {:>6}: digests equal the "
                                 "cpu's ({} records)\n",
                                 std::filesystem::path(path).stem().string(),
                                 bundle->manifest().model.vocab, checked);
    }
  }
}

// Tests --cpu-probe and --rms-verify on the GPU: on every healthy bundle, every step's probe and
// RMSNorm check agree with the GPU, and the records carry the tree digests.
TEST_F(AuditGpuTest, ProbeAndRmsCheckAgreeOnHealthyBundles) {
  for (const std::string &path : bundles_) {
    SCOPED_TRACE(path);
    const std::string jsonl = (dir_.path() / "probe.jsonl").string();
    const RunResult run = greta::test::runBinTool(
        "greta-run",
        {path, "-p", "The quick brown fox", "-n", "4", "--temp", "0", "--device", "hip",
         "--cpu-probe", "--rms-verify", "--audit-out", jsonl},
        dir_.path().string());
    ASSERT_EQ(run.exitCode, 0) << run.err;
    const std::vector<Json> records = parseJsonl(readFile(jsonl));
    ASSERT_FALSE(records.empty()) << "prefill_last, then a decode step per token but the last";
    double worst = 0;
    for (const Json &r : records) {
      SCOPED_TRACE(r.dump());
      EXPECT_TRUE(r["cpu_probe_agrees_gpu"].get<bool>());
      EXPECT_TRUE(r["rms_verify_ok"].get<bool>());
      EXPECT_TRUE(r["logits_hash"].get<std::string>().starts_with("fnv1a64tree:"));
      worst = std::max(worst, r["cpu_probe_max_abs_diff"].get<double>());
    }
    std::cout << fmt::format("GRETA_GPU audit cpu probe {:<24} agrees, max |probe - gpu| {:.2e}\n",
                             std::filesystem::path(path).stem().string(), worst);
  }
}

// Tests the reference case on the GPU: with the prefill LM head's block scales corrupted, the
// report names the LM head's prefill route, the one the bundle's manifest gives (probe disagrees
// in prefill, agrees in decode) and delta mode disagrees; with the final norm's weight
// corrupted, the report names the RMSNorm.
TEST_F(AuditGpuTest, InjectedFaultsAreNamed) {
  const std::string route = prefillLmHeadRoute();
  const std::vector<Json> lmHead = parseJsonl(
      recordOnGpu("scales", {"--cpu-probe", "--rms-verify", "--trace-delta", "--inject-fault",
                             "lm_head.prefill.scales"}));
  ASSERT_GE(lmHead.size(), 2u) << "prefill_last and decode0";
  EXPECT_FALSE(lmHead[0]["cpu_probe_agrees_gpu"].get<bool>());
  EXPECT_EQ(lmHead[0]["lm_head_route"], route);
  EXPECT_TRUE(lmHead[1]["cpu_probe_agrees_gpu"].get<bool>());
  EXPECT_FALSE(lmHead[1]["delta_agrees"].get<bool>()) << "decode vs a faulty prefill";
  // The hidden state before the LM head still agrees, by delta mode's own tolerance.
  const double hiddenMagnitude =
      std::max({1.0, std::abs(lmHead[1]["hidden_min"].get<double>()),
                std::abs(lmHead[1]["hidden_max"].get<double>())});
  EXPECT_LT(lmHead[1]["delta_hidden_max_abs_diff"].get<double>(),
            engine::kProbeTolerance * hiddenMagnitude);
  const Json scales = verdict("scales");
  EXPECT_EQ(scales["point"], "lm_head") << scales.dump();
  EXPECT_EQ(scales["route"], route);
  EXPECT_EQ(scales["phases_disagree"], Json::array({"prefill"}));
  EXPECT_EQ(scales["phases_agree"], Json::array({"decode"}));
  std::cout << "GRETA_GPU audit verdict lm_head.prefill.scales: "
            << scales["text"].get<std::string>() << "\n";

  recordOnGpu("rms", {"--cpu-probe", "--rms-verify", "--inject-fault", "rms_norm.weights"});
  const Json rms = verdict("rms");
  EXPECT_EQ(rms["point"], "final_rmsnorm") << rms.dump();
  std::cout << "GRETA_GPU audit verdict rms_norm.weights: " << rms["text"].get<std::string>()
            << "\n";
}

// Tests that identical GPU runs with every check on write byte-identical JSONL, and that delta
// mode agrees on the healthy model (decode at N vs a prefill of the same N+1 tokens, GEMV vs GEMM
// routes on the GPU).
TEST_F(AuditGpuTest, IdenticalRunsAndHealthyDelta) {
  const std::vector<std::string> checks = {"--cpu-probe", "--rms-verify", "--trace-delta"};
  const std::string first = recordOnGpu("first", checks);
  const std::string second = recordOnGpu("second", checks);
  ASSERT_FALSE(first.empty());
  EXPECT_EQ(first, second);
  const std::vector<Json> records = parseJsonl(first);
  ASSERT_GE(records.size(), 2u) << "prefill_last and decode0";
  for (const Json &r : records) {
    SCOPED_TRACE(r.dump());
    EXPECT_TRUE(r["cpu_probe_agrees_gpu"].get<bool>());
    if (r["phase"] == "prefill_last")
      continue;
    EXPECT_TRUE(r["delta_agrees"].get<bool>());
    EXPECT_TRUE(r["delta_top1_agrees"].get<bool>());
  }
  EXPECT_EQ(verdict("first")["text"], "no divergence");
}

} // namespace
} // namespace greta::hip
