//===- greta_audit_report_test.cpp - The reference case through the tools ===//
//
// As a user would: greta-run --audit-out with --cpu-probe --rms-verify on a chat prompt to a
// tiny Llama-3-shaped model with the Llama-3 vocabulary, then greta-audit-report on the JSONL.
// An LM head broken only in prefill must be reported as "first divergence: lm_head (route gemm,
// prefill)"; a broken final norm as final_rmsnorm; a healthy model as no divergence.
//
//===----------------------------------------------------------------------===//
#include "runtime/synth/synth_model.h"

#include "test/unit/support/audit_run.h"
#include "test/unit/support/llama_plan_fixture.h"
#include "test/unit/support/test_models.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

namespace greta {
namespace {

using Json = nlohmann::json;

using test::readFile;
using test::RunResult;

using test::kAuditSpanish;

class GretaAuditReportTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();
    synth::SynthOptions options;
    options.shape = synth::presetShape("tiny");
    options.quant = synth::QuantMix::Q4_K_M;
    options.vocabPath = std::string(GRETA_SHARED_TESTDATA) + "/llama3-tokenizer/llama3-vocab.gguf";
    options.seed = 11;
    const std::string gguf = dir_->file("tiny-llama3.gguf");
    synth::writeModel(options, gguf);
    bundle_ = test::writeLlamaBundle(gguf, dir_->file("tiny.greta"), {.lmHeadAlternatives = true});
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

  /// Runs a tool of GRETA_BIN_DIR with `args` under `env` ("NAME=value" each).
  RunResult tool(const std::string &name, const std::vector<std::string> &args,
                 const std::vector<std::string> &env = {}) {
    return test::runBinTool(name, args, dir_->path().string(), env);
  }

  /// greta-run on the chat prompt, greedy, 3 tokens, audits to `jsonl`; returns the JSONL text.
  std::string record(const std::string &jsonl, const std::vector<std::string> &extra,
                     const std::vector<std::string> &env = {}) {
    const RunResult run = test::runAuditChat(bundle_, jsonl, extra, dir_->path().string(), env);
    EXPECT_EQ(run.exitCode, 0) << run.err;
    return readFile(jsonl.empty() ? dir_->file("env.jsonl") : jsonl);
  }

  static test::TempDir *dir_;
  static std::string bundle_;
};

test::TempDir *GretaAuditReportTest::dir_ = nullptr;
std::string GretaAuditReportTest::bundle_;

// Tests the reference case end to end: with the prefill LM head's Q6_K scales corrupted, the
// report names the LM head and its prefill route — the probe disagrees in prefill and agrees in
// decode — in the table, the verdict and --json.
TEST_F(GretaAuditReportTest, ReferenceCaseNamesTheLmHeadPrefillRoute) {
  const std::string jsonl = dir_->file("scales.jsonl");
  record(jsonl, {"--cpu-probe", "--rms-verify", "--inject-fault", "lm_head.prefill.scales"});
  const RunResult report = tool("greta-audit-report", {jsonl});
  ASSERT_EQ(report.exitCode, 0) << report.err;
  EXPECT_NE(report.out.find("verdict: first divergence: lm_head (route gemm, prefill) — CPU probe "
                            "disagrees in prefill, agrees in decode"),
            std::string::npos)
      << report.out;
  EXPECT_NE(report.out.find("lm_head_scales_hash differs between prefill and decode"),
            std::string::npos)
      << report.out;
  EXPECT_NE(report.out.find(kAuditSpanish), std::string::npos) << "the table names the prompt";
  EXPECT_NE(report.out.find("prefill_last"), std::string::npos);
  EXPECT_NE(report.out.find("DISAGREE"), std::string::npos);

  const RunResult json = tool("greta-audit-report", {jsonl, "--json"});
  ASSERT_EQ(json.exitCode, 0) << json.err;
  const Json verdict = Json::parse(json.out)["verdict"];
  EXPECT_EQ(verdict["point"], "lm_head");
  EXPECT_EQ(verdict["route"], "gemm");
  EXPECT_EQ(verdict["phases_disagree"], Json::array({"prefill"}));
  EXPECT_EQ(verdict["phases_agree"], Json::array({"decode"}));
}

// Tests that a corrupted final RMSNorm weight is reported as the RMSNorm, not the LM head.
TEST_F(GretaAuditReportTest, RmsNormFaultNamesTheRmsNorm) {
  const std::string jsonl = dir_->file("rms.jsonl");
  record(jsonl, {"--cpu-probe", "--rms-verify", "--inject-fault", "rms_norm.weights"});
  const RunResult report = tool("greta-audit-report", {jsonl});
  ASSERT_EQ(report.exitCode, 0) << report.err;
  EXPECT_NE(report.out.find("verdict: first divergence: final_rmsnorm — RMSNorm check disagrees "
                            "in prefill and decode"),
            std::string::npos)
      << report.out;
}

// Tests that a healthy model, with every check on (delta included), is reported as agreeing:
// "no divergence", and every step's probe agrees.
TEST_F(GretaAuditReportTest, HealthyModelHasNoDivergence) {
  const std::string jsonl = dir_->file("healthy.jsonl");
  record(jsonl, {"--cpu-probe", "--rms-verify", "--trace-delta"});
  const RunResult json = tool("greta-audit-report", {jsonl, "--json"});
  ASSERT_EQ(json.exitCode, 0) << json.err;
  const Json out = Json::parse(json.out);
  EXPECT_EQ(out["verdict"]["text"], "no divergence");
  EXPECT_FALSE(out["verdict"]["divergence"].get<bool>());
  ASSERT_EQ(out["prompts"].size(), 1u);
  EXPECT_EQ(out["prompts"][0]["prompt"], kAuditSpanish);
  for (const Json &step : out["prompts"][0]["steps"]) {
    EXPECT_TRUE(step["cpu_probe_agrees_gpu"].get<bool>());
    EXPECT_TRUE(step["rms_verify_ok"].get<bool>());
  }
  const RunResult table = tool("greta-audit-report", {jsonl});
  EXPECT_NE(table.out.find("verdict: no divergence"), std::string::npos) << table.out;
}

// Tests that without --rms-verify a probe disagreement is not pinned on the LM head alone: the
// report says it cannot tell the final norm from the LM head and asks for --rms-verify.
TEST_F(GretaAuditReportTest, ProbeAloneAsksForTheRmsCheck) {
  const std::string jsonl = dir_->file("probe-only.jsonl");
  record(jsonl, {"--cpu-probe", "--inject-fault", "lm_head.prefill.scales"});
  const RunResult report = tool("greta-audit-report", {jsonl});
  EXPECT_NE(report.out.find("first divergence: final_rmsnorm or lm_head (LM head route gemm, "
                            "prefill)"),
            std::string::npos)
      << report.out;
  EXPECT_NE(report.out.find("--rms-verify"), std::string::npos);
}

// Tests that the environment switches mean what the flags mean: the same records, byte for byte.
TEST_F(GretaAuditReportTest, EnvironmentSwitchesMatchFlags) {
  const std::string byFlags =
      record(dir_->file("flags.jsonl"), {"--cpu-probe", "--rms-verify", "--trace-delta"});
  const std::string byEnv =
      record("", {},
             {"GRETA_TRACE_PREFILL_DECODE_OUT=" + test::shellQuote(dir_->file("env.jsonl")),
              "GRETA_TRACE_LMHEAD_CPU_PROBE=1", "GRETA_TRACE_RMS_VERIFY=1",
              "GRETA_TRACE_PREFILL_DECODE_DELTA=1"});
  EXPECT_FALSE(byFlags.empty());
  EXPECT_EQ(byFlags, byEnv);
}

// Tests the user errors around audits: checks without an output file, a route the bundle lacks
// (on a bundle without alternatives), an unknown fault, a report of a file that is not JSONL —
// and that the test-only --inject-fault stays out of --help.
TEST_F(GretaAuditReportTest, ClearErrors) {
  RunResult r = tool("greta-run", {bundle_, "-p", "hi", "-n", "1", "--cpu-probe"});
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_NE(r.err.find("give --audit-out FILE"), std::string::npos) << r.err;

  const std::string single =
      test::writeLlamaBundle(test::tinyModel(synth::QuantMix::Q8_0), dir_->file("single.greta"));
  r = tool("greta-run", {single, "-p", "hi", "-n", "1", "--force-route", "lm_head=gemv"});
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_NE(r.err.find("carries no alternative 'lm_head=gemv'; it has: gemm"), std::string::npos)
      << r.err;

  r = tool("greta-run", {bundle_, "-p", "hi", "-n", "1", "--inject-fault", "lm_head.decode.x"});
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_NE(r.err.find("unknown fault (faults: lm_head.prefill.scales|lm_head.prefill.layout|"
                       "rms_norm.weights)"),
            std::string::npos)
      << r.err;

  std::ofstream(dir_->file("junk.jsonl")) << "not json\n";
  r = tool("greta-audit-report", {dir_->file("junk.jsonl")});
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_NE(r.err.find("junk.jsonl:1: not a JSON record"), std::string::npos) << r.err;

  r = tool("greta-run", {"--help"});
  EXPECT_NE(r.out.find("--cpu-probe"), std::string::npos);
  EXPECT_EQ(r.out.find("--inject-fault"), std::string::npos);
}

} // namespace
} // namespace greta
