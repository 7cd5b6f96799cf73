//===- greta_bench_test.cpp - greta-bench end to end on a tiny bundle ------===//
//
// Runs the built greta-bench binary (GRETA_BIN_DIR) on the CPU over a bundle the mock compiler
// made from a greta-synth model, as a user would: the markdown table, the JSON with its numbers
// checked for consistency (t/s against tokens and time, bandwidth against bytes and time, the
// attention FLOPs against the model's shape), --profile, and the errors a user can cause.
//
//===----------------------------------------------------------------------===//
#include "runtime/bundle/bundle.h"

#include "test/unit/support/llama_plan_fixture.h"
#include "test/unit/support/run_tool.h"
#include "test/unit/support/test_models.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <variant>

namespace greta {
namespace {

using Json = nlohmann::json;
using test::RunResult;

class GretaBenchTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();
    bundle_ =
        test::writeLlamaBundle(test::tinyModel(synth::QuantMix::Q8_0), dir_->file("tiny.greta"));
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

  RunResult run(const std::vector<std::string> &args) {
    std::vector<std::string> all = {bundle_, "--device", "cpu", "--threads", "2"};
    all.insert(all.end(), args.begin(), args.end());
    return test::runTool(std::string(GRETA_BIN_DIR) + "/greta-bench", all, dir_->path().string());
  }

  Json runJson(const std::vector<std::string> &args) {
    std::vector<std::string> all = args;
    all.insert(all.end(), {"-o", "json"});
    const RunResult r = run(all);
    EXPECT_EQ(r.exitCode, 0) << r.err;
    return Json::parse(r.out);
  }

  /// Runs with `args`, expects exit 1 and every one of `needles` in the error.
  void expectError(const std::vector<std::string> &args, const std::vector<std::string> &needles) {
    const RunResult r = run(args);
    EXPECT_EQ(r.exitCode, 1) << r.out;
    EXPECT_TRUE(r.out.empty()) << r.out;
    for (const std::string &needle : needles)
      EXPECT_NE(r.err.find(needle), std::string::npos) << "'" << needle << "' not in: " << r.err;
  }

  static const Json &testNamed(const Json &report, const std::string &name) {
    for (const Json &test : report["tests"])
      if (test["test"] == name)
        return test;
    ADD_FAILURE() << "no test " << name << " in " << report.dump();
    static const Json none;
    return none;
  }

  static test::TempDir *dir_;
  static std::string bundle_;
};

test::TempDir *GretaBenchTest::dir_ = nullptr;
std::string GretaBenchTest::bundle_;

void expectNear(double actual, double expected, const std::string &what) {
  EXPECT_NEAR(actual, expected, 1e-9 * std::max(1.0, std::abs(expected))) << what;
}

/// FLOPs of the `family` launches (matmul or matmul_gate_up) of the prefill plan for `seq` rows:
/// 2·M·N·K each, gate and up counting twice.
double prefillGemmFlops(const bundle::Manifest &m, const std::string &family, double seq) {
  double flops = 0;
  for (const bundle::Launch &launch : m.prefill.launches) {
    const bundle::KernelSpec &kernel = *m.findKernel(launch.kernel);
    if (kernel.family == family)
      flops += (family == "matmul" ? 2.0 : 4.0) * seq *
               static_cast<double>(std::get<int64_t>(kernel.params.at("n"))) *
               static_cast<double>(std::get<int64_t>(kernel.params.at("k")));
  }
  return flops;
}

// Tests that the JSON report holds every test with positive, self-consistent numbers: t/s is
// tokens / median time, min ≤ median ≤ max, decode bandwidth is weight bytes per token / time
// per token, its floor share is that over the measured peak, and the load parts add up.
TEST_F(GretaBenchTest, JsonNumbersAreConsistent) {
  const Json report = runJson({"-p", "16", "-n", "8", "-r", "2"});
  EXPECT_EQ(report["model"], "tiny");
  EXPECT_EQ(report["backend"], "cpu");
  EXPECT_EQ(report["context"], 16); // the most any test needs: pp16 (tg8 needs 1 + 8)
  EXPECT_TRUE(report["memory"].is_null());
  const double peak = report["peak_bandwidth"]["bytes_per_second"];
  EXPECT_GT(peak, 0);
  EXPECT_FALSE(report["peak_bandwidth"]["method"].get<std::string>().empty());
  EXPECT_GT(report["size_bytes"].get<uint64_t>(), 0u);
  EXPECT_GT(report["params"].get<uint64_t>(), 0u);

  // Weight bytes per decode step: every weight argument of the decode plan in full, except the
  // embedding, which reads one row of its table.
  const auto bundle = bundle::Bundle::open(bundle_);
  uint64_t expectedBytes = 0;
  for (const bundle::Launch &launch : bundle->manifest().decode.launches)
    for (const auto &[arg, value] : launch.args)
      if (auto weight = bundle::weightRefName(value)) {
        const uint64_t bytes = bundle->weightBytes(*weight).size();
        const bool embedding = bundle->manifest().findKernel(launch.kernel)->family == "embedding";
        expectedBytes += embedding ? bytes / bundle->weight(*weight).dims[1] : bytes;
      }
  EXPECT_EQ(report["decode_weight_bytes_per_token"].get<uint64_t>(), expectedBytes);
  expectNear(report["floor_seconds_per_token"], double(expectedBytes) / peak, "floor");

  const Json &load = report["load"];
  for (const char *part : {"bundle_seconds", "executor_seconds", "first_token_seconds"})
    EXPECT_GT(load[part].get<double>(), 0) << part;
  expectNear(load["total_seconds"],
             load["bundle_seconds"].get<double>() + load["executor_seconds"].get<double>() +
                 load["first_token_seconds"].get<double>(),
             "load total");

  ASSERT_EQ(report["tests"].size(), 2u);
  for (const auto &[name, prompt, generated] :
       {std::tuple{"pp16", 16, 0}, std::tuple{"tg8", 0, 8}}) {
    const Json &test = testNamed(report, name);
    EXPECT_EQ(test["prompt_tokens"], prompt);
    EXPECT_EQ(test["generated_tokens"], generated);
    ASSERT_EQ(test["runs"].size(), 2u);
    std::vector<double> seconds;
    for (const Json &run : test["runs"]) {
      seconds.push_back(run["seconds"]);
      EXPECT_GT(seconds.back(), 0);
      expectNear(run["seconds"],
                 run["prefill_seconds"].get<double>() + run["decode_seconds"].get<double>(),
                 "run parts");
    }
    const double median = (seconds[0] + seconds[1]) / 2;
    expectNear(test["median_seconds"], median, "median of 2");
    const Json &rate = test["tokens_per_second"];
    const double tokens = prompt + generated;
    expectNear(rate["median"], tokens / median, std::string(name) + " t/s");
    expectNear(rate["min"], tokens / std::max(seconds[0], seconds[1]), "min t/s");
    expectNear(rate["max"], tokens / std::min(seconds[0], seconds[1]), "max t/s");
    EXPECT_LE(rate["min"].get<double>(), rate["median"].get<double>());
    EXPECT_GE(rate["max"].get<double>(), rate["median"].get<double>());
    EXPECT_GE(rate["stddev"].get<double>(), 0);
  }
  const Json &tg = testNamed(report, "tg8");
  const double msPerToken = tg["decode_ms_per_token"];
  EXPECT_GT(msPerToken, 0);
  expectNear(tg["decode_weight_bytes_per_second"], double(expectedBytes) / (msPerToken / 1e3),
             "decode bandwidth");
  expectNear(tg["decode_floor_fraction"], tg["decode_weight_bytes_per_second"].get<double>() / peak,
             "floor share");
}

// Tests that the markdown output has the header lines and one table row per test, in order.
TEST_F(GretaBenchTest, MarkdownHasOneRowPerTest) {
  const RunResult r = run({"-p", "16", "-n", "8", "-pg", "8,4", "-r", "2"});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  for (const char *needle :
       {"peak bandwidth", "load to first token", "| model | size | params |", "% of floor |"})
    EXPECT_NE(r.out.find(needle), std::string::npos) << needle << " not in:\n" << r.out;
  const size_t pp = r.out.find("| tiny | ");
  ASSERT_NE(pp, std::string::npos) << r.out;
  const size_t ppRow = r.out.find("| cpu | pp16 |");
  const size_t tgRow = r.out.find("| cpu | tg8 |");
  const size_t pgRow = r.out.find("| cpu | pp8+tg4 |");
  EXPECT_NE(ppRow, std::string::npos) << r.out;
  EXPECT_NE(tgRow, std::string::npos) << r.out;
  EXPECT_NE(pgRow, std::string::npos) << r.out;
  EXPECT_LT(ppRow, tgRow);
  EXPECT_LT(tgRow, pgRow);
  // The decode row has a bandwidth and a floor share; the prefill row has neither.
  const std::string tgLine = r.out.substr(tgRow, r.out.find('\n', tgRow) - tgRow);
  const std::string ppLine = r.out.substr(ppRow, r.out.find('\n', ppRow) - ppRow);
  EXPECT_NE(tgLine.find(" % |"), std::string::npos) << tgLine;
  EXPECT_NE(ppLine.find("| — | — |"), std::string::npos) << ppLine;
}

// Tests that --profile times every launch of one run per test, per phase and kernel family:
// launch counts follow the plans, and attention's FLOPs are 4·heads·head_dim per visible key
// (causal: position + 1 keys per query) in every layer.
TEST_F(GretaBenchTest, ProfileCountsLaunchesAndFlops) {
  const Json report = runJson({"-p", "16", "-n", "8", "-r", "1", "--profile"});
  const auto bundle = bundle::Bundle::open(bundle_);
  const bundle::Manifest &m = bundle->manifest();
  const double perKey = 4.0 * m.model.heads * m.model.headDim * m.model.layers;

  auto family = [](const Json &test, const std::string &phase, const std::string &name) {
    for (const Json &row : test["profile"]["families"])
      if (row["phase"] == phase && row["family"] == name)
        return row;
    ADD_FAILURE() << "no " << phase << " " << name << " in " << test["profile"].dump();
    return Json();
  };
  const Json &pp = testNamed(report, "pp16");
  // pp16: one prefill run, queries at positions 0..15 see 1..16 keys.
  const Json attention = family(pp, "prefill", "attention");
  EXPECT_EQ(attention["launches"], m.model.layers);
  expectNear(attention["flops"], perKey * (16 * 17 / 2), "prefill attention FLOPs");
  // GEMMs: 2·M·N·K with M the run's 16 rows; gate and up count twice.
  for (const std::string name : {"matmul", "matmul_gate_up"}) {
    const double flops = prefillGemmFlops(m, name, 16);
    EXPECT_GT(flops, 0) << name;
    expectNear(family(pp, "prefill", name)["flops"], flops, "prefill " + name + " FLOPs");
  }
  const Json lmHead = family(pp, "prefill", "lm_head");
  expectNear(lmHead["flops"], 2.0 * m.model.dim * m.model.vocab, "lm_head: one row");
  EXPECT_GT(lmHead["weight_bytes_per_second"].get<double>(), 0);

  // tg8: the untimed 1-token prompt, then decode at positions 1..8 (2..9 keys).
  const Json &tg = testNamed(report, "tg8");
  const Json decodeAttention = family(tg, "decode", "attention");
  EXPECT_EQ(decodeAttention["launches"], 8 * m.model.layers);
  expectNear(decodeAttention["flops"], perKey * (2 + 9) * 8 / 2, "decode attention FLOPs");
  double share = 0, kernelSeconds = 0, familySeconds = 0;
  for (const Json &row : tg["profile"]["families"])
    if (row["phase"] == "decode") {
      share += row["share"].get<double>();
      familySeconds += row["seconds"].get<double>();
      EXPECT_GT(row["seconds"].get<double>(), 0) << row.dump();
    }
  for (const Json &row : tg["profile"]["kernels"])
    if (row["phase"] == "decode")
      kernelSeconds += row["seconds"].get<double>();
  EXPECT_NEAR(share, 1.0, 1e-9);
  expectNear(familySeconds, kernelSeconds, "families fold the kernels");
  size_t decodeLaunches = 0;
  for (const Json &row : tg["profile"]["kernels"])
    if (row["phase"] == "decode")
      decodeLaunches += row["launches"].get<size_t>();
  EXPECT_EQ(decodeLaunches, 8 * m.decode.launches.size());

  const RunResult md = run({"-p", "16", "-n", "0", "-r", "1", "--profile"});
  ASSERT_EQ(md.exitCode, 0) << md.err;
  EXPECT_NE(md.out.find("profile of pp16"), std::string::npos) << md.out;
  EXPECT_NE(md.out.find("| prefill | attention | attention |"), std::string::npos) << md.out;
}

// Tests that bad arguments fail before anything runs, with a message naming the value and the
// limit.
// Tests that a prefill test (ppN) reports the prefill plan's FLOPs — GEMMs 2·M·N·K, the LM head
// one row, attention 4·heads·head_dim per visible key — and FLOP/s over its median time, in
// JSON and as the markdown row's last column; decode tests report none.
TEST_F(GretaBenchTest, PrefillRowsCarryFlopsPerSecond) {
  const Json report = runJson({"-p", "16", "-n", "8", "-r", "2"});
  const auto bundle = bundle::Bundle::open(bundle_);
  const bundle::Manifest &m = bundle->manifest();
  const double expected = prefillGemmFlops(m, "matmul", 16) +
                          prefillGemmFlops(m, "matmul_gate_up", 16) +
                          2.0 * m.model.dim * m.model.vocab +
                          4.0 * m.model.heads * m.model.headDim * m.model.layers * (16 * 17 / 2);
  const Json &pp = testNamed(report, "pp16");
  expectNear(pp["prefill_flops"], expected, "pp16 FLOPs");
  expectNear(pp["prefill_flops_per_second"],
             expected / pp["median_seconds"].get<double>(), "pp16 FLOP/s");
  EXPECT_FALSE(testNamed(report, "tg8").contains("prefill_flops"));

  const RunResult md = run({"-p", "16", "-n", "8", "-r", "1"});
  ASSERT_EQ(md.exitCode, 0) << md.err;
  EXPECT_NE(md.out.find("% of floor | TFLOP/s |"), std::string::npos) << md.out;
  auto lastCell = [&](const std::string &test) -> std::string {
    const size_t at = md.out.find("| cpu | " + test + " |");
    if (at == std::string::npos) {
      ADD_FAILURE() << "no " << test << " row in:\n" << md.out;
      return "";
    }
    std::string line = md.out.substr(at, md.out.find('\n', at) - at);
    line.resize(line.rfind(" |")); // without the closing " |"
    return line.substr(line.rfind("| ") + 2);
  };
  EXPECT_EQ(lastCell("tg8"), "—");
  const std::string tflops = lastCell("pp16");
  EXPECT_NE(tflops, "—");
  EXPECT_NO_THROW((void)std::stod(tflops)) << tflops;
}

TEST_F(GretaBenchTest, BadArgumentsAreClearErrors) {
  expectError({"-t", "xx12"}, {"'xx12'", "unknown test", "pp512"});
  expectError({"-t", "pp0"}, {"'pp0'", "at least 1"});
  expectError({"-pg", "2048"}, {"-pg '2048'", "P,N"});
  expectError({"-pg", "16,x"}, {"-pg '16,x'"});
  expectError({"-r", "0"}, {"-r 0", "at least 1"});
  expectError({"-p", "64", "--ctx", "32"}, {"pp64", "64 tokens", "--ctx 32"});
  expectError({"-p", "100000"}, {"pp100000", "model's context of 2048"});
  expectError({"-p", "0", "-n", "0"}, {"no test to run"});
}

} // namespace
} // namespace greta
