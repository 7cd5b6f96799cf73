//===- greta_run_test.cpp - greta-run end to end on a tiny bundle ----------===//
//
// Runs the built greta-run binary (GRETA_BIN_DIR) on a bundle the mock compiler made from a
// greta-synth model, as a user would: greedy and seeded generation, --json, chat, interactive
// turns, and the errors a user can cause.
//
//===----------------------------------------------------------------------===//
#include "runtime/bundle/bundle.h"
#include "runtime/tokenizer/tokenizer.h"

#include "test/unit/support/llama_plan_fixture.h"
#include "test/unit/support/run_tool.h"
#include "test/unit/support/test_models.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

namespace greta {
namespace {

using Json = nlohmann::json;

using test::RunResult;

/// `text` as --json prints it: bytes that are not UTF-8 (random tiny models emit stray byte
/// tokens) become U+FFFD.
std::string asJsonText(const std::string &text) {
  return Json::parse(Json(text).dump(-1, ' ', false, Json::error_handler_t::replace))
      .get<std::string>();
}

class GretaRunTest : public ::testing::Test {
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

  /// Runs greta-run on the shared bundle with `args` and `input` on stdin.
  RunResult run(const std::vector<std::string> &args, const std::string &input = "") {
    return runOn(bundle_, args, input);
  }
  RunResult runOn(const std::string &bundle, const std::vector<std::string> &args,
                  const std::string &input = "") {
    std::vector<std::string> all = {bundle};
    all.insert(all.end(), args.begin(), args.end());
    return test::runTool(std::string(GRETA_BIN_DIR) + "/greta-run", all, dir_->path().string(),
                         input);
  }

  Json runJson(const std::vector<std::string> &args) {
    std::vector<std::string> all = args;
    all.push_back("--json");
    const RunResult r = run(all);
    EXPECT_EQ(r.exitCode, 0) << r.err;
    return Json::parse(r.out);
  }

  static test::TempDir *dir_;
  static std::string bundle_;
};

test::TempDir *GretaRunTest::dir_ = nullptr;
std::string GretaRunTest::bundle_;

// Tests that greedy generation is deterministic and that --json reports prompt ids (the
// tokenizer's encoding, BOS first), generated ids, their text and timings.
TEST_F(GretaRunTest, GreedyJsonIsDeterministicAndComplete) {
  const Json first = runJson({"-p", "the quick brown fox", "-n", "12", "--temp", "0"});
  const Json second =
      runJson({"-p", "the quick brown fox", "-n", "12", "--temp", "0", "--threads", "1"});
  EXPECT_EQ(first["generated_ids"], second["generated_ids"]);
  EXPECT_EQ(first["text"], second["text"]);

  const auto bundle = bundle::Bundle::open(bundle_);
  const auto tokenizer = Tokenizer::fromGguf(bundle->tokenizerGguf());
  const std::vector<int32_t> prompt = first["prompt_ids"];
  EXPECT_EQ(prompt,
            tokenizer->encode("the quick brown fox", {.addBos = true, .parseSpecial = true}));
  const std::vector<int32_t> generated = first["generated_ids"];
  EXPECT_LE(generated.size(), 12u);
  EXPECT_TRUE(generated.size() == 12u || first["stop_reason"] == "eos");
  EXPECT_EQ(first["text"], asJsonText(tokenizer->decode(
                               generated, {.renderControl = false, .removeSpacePrefix = false})));
  EXPECT_EQ(first["timings"]["prompt_tokens"], prompt.size());
  EXPECT_EQ(first["timings"]["generated_tokens"], generated.size());
  EXPECT_GT(first["timings"]["prompt_tokens_per_second"].get<double>(), 0.0);
  EXPECT_EQ(first["device"], "cpu");
}

// Tests that sampling with the same --seed gives the same tokens.
TEST_F(GretaRunTest, SameSeedSameOutput) {
  const std::vector<std::string> args = {
      "-p", "once upon a time", "-n", "16",      "--temp", "1.2",    "--top-k",
      "0",  "--top-p",          "1",  "--min-p", "0",      "--seed", "1234"};
  const Json a = runJson(args);
  const Json b = runJson(args);
  EXPECT_EQ(a["generated_ids"], b["generated_ids"]);
  EXPECT_EQ(a["seed"], 1234);
}

// Tests that text streams to stdout with the speeds on stderr.
TEST_F(GretaRunTest, StreamsTextAndReportsSpeed) {
  const Json expected = runJson({"-p", "hello", "-n", "8", "--temp", "0"});
  const RunResult r = run({"-p", "hello", "-n", "8", "--temp", "0"});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_EQ(asJsonText(r.out), expected["text"].get<std::string>() + "\n");
  EXPECT_NE(r.err.find("tok/s"), std::string::npos) << r.err;
}

// Tests chat mode (the prompt wrapped in the chat template, BOS and headers as special ids) and
// an interactive session of two turns on stdin.
TEST_F(GretaRunTest, ChatAndInteractiveTurns) {
  const Json chat =
      runJson({"--chat", "--system", "be brief", "-p", "hi there", "-n", "4", "--temp", "0"});
  const auto bundle = bundle::Bundle::open(bundle_);
  const auto tokenizer = Tokenizer::fromGguf(bundle->tokenizerGguf());
  const std::vector<int32_t> prompt = chat["prompt_ids"];
  ASSERT_FALSE(prompt.empty());
  EXPECT_EQ(prompt.front(), tokenizer->bos());
  EXPECT_TRUE(tokenizer->isControl(prompt.back()) || tokenizer->decode(prompt).ends_with("\n\n"));

  const RunResult r = run({"-i", "-n", "4", "--temp", "0"}, "first question\nsecond question\n");
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_NE(r.err.find("generated"), std::string::npos) << r.err;
}

// Tests the errors a user can cause: a prompt longer than --ctx (refused, not truncated), the
// HIP device where it cannot run (no GPU here, no HIP kernels in a mock bundle), a missing
// bundle.
TEST_F(GretaRunTest, UserErrorsAreClear) {
  RunResult r =
      run({"-p", "the quick brown fox jumps over the lazy dog again and again", "--ctx", "4"});
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_NE(r.err.find("does not fit the context of 4 tokens"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());
  // No GPU: an error saying so; a GPU: the mock compiler's bundle has no HIP kernels.
  r = run({"-p", "x", "--device", "hip"});
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_NE(r.err.find("--device=hip: "), std::string::npos) << r.err;
  r = runOn("/nonexistent.greta", {"-p", "x"});
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_NE(r.err.find("not a bundle directory"), std::string::npos) << r.err;
}

// Tests that --verify catches weights damaged after compilation, which a plain run would use.
TEST_F(GretaRunTest, VerifyRefusesDamagedWeights) {
  const std::string damaged = dir_->file("damaged.greta");
  std::filesystem::copy(bundle_, damaged, std::filesystem::copy_options::recursive);
  {
    std::fstream weights(damaged + "/weights.bin", std::ios::in | std::ios::out | std::ios::binary);
    weights.seekp(4096);
    weights.put('\x7f');
  }
  EXPECT_EQ(runOn(damaged, {"-p", "x", "-n", "1"}).exitCode, 0);
  const RunResult r = runOn(damaged, {"-p", "x", "-n", "1", "--verify"});
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_NE(r.err.find("checksum"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("modified or damaged"), std::string::npos) << r.err;
}

} // namespace
} // namespace greta
