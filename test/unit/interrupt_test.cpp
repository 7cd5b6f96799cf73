//===- interrupt_test.cpp - Ctrl-C stops cleanly and leaves no half file ---===//
//
// The handler itself (first Ctrl-C sets a flag, a second one or SIGTERM removes the registered
// temporaries and exits), the writers stopping at their safe points, and the tools as a user
// meets them: greta-run and greta-synth started in the background and sent SIGINT while they
// work.
//
//===----------------------------------------------------------------------===//
#include "runtime/formats/gguf.h"
#include "runtime/support/error.h"
#include "runtime/support/interrupt.h"

#include "test/unit/gguf_test_support.h"
#include "test/unit/support/llama_plan_fixture.h"
#include "test/unit/support/run_tool.h"
#include "test/unit/support/test_models.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

namespace greta {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

/// Names in `dir` that contain ".tmp-": temporaries a writer failed to remove.
std::vector<std::string> temporariesIn(const fs::path &dir) {
  std::vector<std::string> found;
  for (const fs::directory_entry &entry : fs::directory_iterator(dir))
    if (entry.path().filename().string().find(".tmp-") != std::string::npos)
      found.push_back(entry.path().filename().string());
  return found;
}

/// The lines of `text`; each must parse as one JSON object (a whole audit record).
std::vector<Json> wholeJsonLines(const std::string &text) {
  std::vector<Json> lines;
  if (!text.empty()) {
    EXPECT_EQ(text.back(), '\n') << "the last line is cut short";
  }
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    Json parsed = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    EXPECT_TRUE(parsed.is_object()) << "not a whole JSON line: " << line.substr(0, 200);
    lines.push_back(std::move(parsed));
  }
  return lines;
}

size_t lineCount(const std::string &path) {
  const std::string text = test::readFile(path);
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

/// The speed line greta-run prints at the end; the generated count, or -1 when absent.
long long generatedInSpeedLine(const std::string &err) {
  static const std::regex speed(
      R"(greta-run: prompt \d+ tokens in [0-9.]+ s \([0-9.]+ tok/s\); generated (\d+) tokens in )");
  std::smatch match;
  return std::regex_search(err, match, speed) ? std::stoll(match[1]) : -1;
}

//===--- The handler ------------------------------------------------------===//

// Tests that a first Ctrl-C only sets the flag, which throwIfInterrupted turns into
// greta::Interrupted naming the operation, and that clearing it makes the next one a first again.
TEST(Interrupt, FirstCtrlCSetsTheFlag) {
  installInterruptHandler();
  EXPECT_FALSE(interruptRequested());
  EXPECT_NO_THROW(throwIfInterrupted("model.gguf"));
  std::raise(SIGINT);
  EXPECT_TRUE(interruptRequested());
  test::expectError([] { throwIfInterrupted("model.gguf"); }, {"model.gguf: interrupted (Ctrl-C)"});
  EXPECT_THROW(throwIfInterrupted("x"), Interrupted);
  clearInterruptRequest();
  EXPECT_FALSE(interruptRequested());
}

/// A temporary file and a temporary directory tree, as the writers leave them mid-way.
struct Temporaries {
  explicit Temporaries(const test::TempDir &dir)
      : file(dir.file("model.gguf.tmp-1")), tree(dir.file("model.greta.tmp-1")) {
    std::ofstream(file) << "half a model";
    fs::create_directories(fs::path(tree) / "kernels");
    std::ofstream(fs::path(tree) / "weights.bin") << "half the weights";
    std::ofstream(fs::path(tree) / "kernels" / "k.hip") << "kernel";
  }
  std::string file, tree;
};

// Tests that a second Ctrl-C exits at once with status 130 after removing every registered
// temporary, a whole directory tree included, and nothing that was released.
TEST(InterruptDeathTest, SecondCtrlCRemovesRegisteredTemporaries) {
  test::TempDir dir;
  const Temporaries temps(dir);
  const std::string kept = dir.file("model.gguf");
  std::ofstream(kept) << "a whole model";
  EXPECT_EXIT(
      {
        installInterruptHandler();
        RemoveOnHardExit file(temps.file, RemoveOnHardExit::Kind::File);
        RemoveOnHardExit tree(temps.tree, RemoveOnHardExit::Kind::Directory);
        RemoveOnHardExit released(kept, RemoveOnHardExit::Kind::File);
        released.release();
        std::raise(SIGINT);
        std::raise(SIGINT);
        std::exit(0); // not reached
      },
      ::testing::ExitedWithCode(kInterruptedExitStatus), "Ctrl-C again to quit at once");
  EXPECT_FALSE(fs::exists(temps.file));
  EXPECT_FALSE(fs::exists(temps.tree));
  EXPECT_TRUE(fs::exists(kept));
}

// Tests that SIGTERM (what `timeout` and `kill` send) removes the temporaries at once too, with
// status 128 + SIGTERM.
TEST(InterruptDeathTest, SigtermRemovesRegisteredTemporaries) {
  test::TempDir dir;
  const Temporaries temps(dir);
  EXPECT_EXIT(
      {
        installInterruptHandler();
        RemoveOnHardExit file(temps.file, RemoveOnHardExit::Kind::File);
        RemoveOnHardExit tree(temps.tree, RemoveOnHardExit::Kind::Directory);
        std::raise(SIGTERM);
        std::exit(0); // not reached
      },
      ::testing::ExitedWithCode(128 + SIGTERM), "");
  EXPECT_FALSE(fs::exists(temps.file));
  EXPECT_FALSE(fs::exists(temps.tree));
}

//===--- Writers ----------------------------------------------------------===//

// Tests that Ctrl-C while a GGUF is being written stops before the next tensor with
// greta::Interrupted, removes the temporary and leaves the file already at the path untouched.
TEST(Interrupt, GgufWriterStopsBetweenTensorsAndLeavesNoFile) {
  installInterruptHandler();
  test::TempDir dir;
  const std::string path = dir.file("model.gguf");
  std::ofstream(path) << "the previous model";
  GgufWriter writer;
  writer.add("general.name", GgufValue::str("interrupted"));
  int filled = 0;
  for (const char *name : {"a", "b", "c"})
    writer.addTensor(name, TensorType::F32, {4}, [&](std::span<uint8_t> dst) {
      std::fill(dst.begin(), dst.end(), 0);
      if (++filled == 2)
        std::raise(SIGINT); // Ctrl-C while the second tensor is produced
    });
  test::expectError([&] { writer.write(path); }, {path + ": interrupted (Ctrl-C)"});
  clearInterruptRequest();
  EXPECT_EQ(filled, 2); // the third tensor was never produced
  EXPECT_EQ(test::readFile(path), "the previous model");
  EXPECT_TRUE(temporariesIn(dir.path()).empty());
}

// Tests that a bundle writer asked to stop writes nothing: no bundle, no temporary directory
// (greta-compile maps the error to status 130).
TEST(Interrupt, BundleWriterAfterCtrlCWritesNothing) {
  installInterruptHandler();
  test::TempDir dir;
  const bundle::BundleSpec spec = test::buildLlamaPlan(test::tinyModel(synth::QuantMix::Q8_0));
  std::raise(SIGINT);
  std::string error;
  EXPECT_FALSE(bundle::tryWriteBundle(spec, dir.file("m.greta"), &error));
  clearInterruptRequest();
  EXPECT_NE(error.find("m.greta: interrupted (Ctrl-C)"), std::string::npos) << error;
  EXPECT_FALSE(fs::exists(dir.file("m.greta")));
  EXPECT_TRUE(temporariesIn(dir.path()).empty());
}

//===--- The tools --------------------------------------------------------===//

/// The tiny bundle the tool tests run, written once per process.
const std::string &tinyBundle() {
  static const test::TempDir dir;
  static const std::string bundle =
      test::writeLlamaBundle(test::tinyModel(synth::QuantMix::Q8_0), dir.file("tiny.greta"));
  return bundle;
}

class InterruptToolTest : public ::testing::Test {
protected:
  /// Starts greta-run on the tiny bundle: unlimited tokens (the context, 2048, ends it) with the
  /// audit written to `audit`, which it holds as "<audit>.tmp-<pid>" until the end.
  std::unique_ptr<test::BackgroundTool> startRun(const test::TempDir &scratch,
                                                 const std::string &audit,
                                                 std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {tinyBundle(), "-p", "the quick brown fox", "-n", "-1",
                                     "--temp",     "0",  "--audit-out",         audit};
    args.insert(args.end(), extra.begin(), extra.end());
    return std::make_unique<test::BackgroundTool>(std::string(GRETA_BIN_DIR) + "/greta-run", args,
                                                  scratch.path().string());
  }

  /// Waits until greta-run has decoded a few tokens (its audit temporary holds the prefill's
  /// line and `decoded` more).
  static bool waitForDecodedSteps(test::BackgroundTool &tool, const std::string &audit,
                                  size_t decoded) {
    const std::string temporary = audit + ".tmp-" + std::to_string(tool.pid());
    return tool.waitUntil([&] { return lineCount(temporary) >= decoded + 1; });
  }
};

// Tests Ctrl-C during streaming generation: greta-run stops between tokens, prints the text so
// far and the speed line, exits with 130, and the audit file holds whole JSON lines — the prefill
// and one per decoded token — with no temporary left.
TEST_F(InterruptToolTest, GretaRunStopsBetweenTokens) {
  test::TempDir scratch;
  const std::string audit = scratch.file("audit.jsonl");
  auto run = startRun(scratch, audit);
  ASSERT_TRUE(waitForDecodedSteps(*run, audit, 3)) << "greta-run ended before decoding 3 tokens:\n"
                                                   << run->wait().err;
  ASSERT_TRUE(run->signal(SIGINT));
  const test::RunResult r = run->wait();
  EXPECT_EQ(r.exitCode, kInterruptedExitStatus) << r.err;
  EXPECT_NE(r.err.find("greta: interrupted"), std::string::npos) << r.err;
  const long long generated = generatedInSpeedLine(r.err);
  EXPECT_GE(generated, 3) << r.err;
  EXPECT_LT(generated, 2000) << "not stopped early: " << r.err;
  EXPECT_EQ(r.err.find("is full"), std::string::npos) << r.err;
  EXPECT_FALSE(r.out.empty());
  const std::vector<Json> lines = wholeJsonLines(test::readFile(audit));
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.front()["phase"], "prefill_last");
  EXPECT_EQ(static_cast<long long>(lines.size()), generated + 1); // every decoded step recorded
  EXPECT_TRUE(temporariesIn(scratch.path()).empty());
}

// Tests Ctrl-C with --json: the one JSON object is still printed, with stop_reason "interrupted"
// and the ids generated so far, beside the speed line.
TEST_F(InterruptToolTest, GretaRunJsonReportsInterrupted) {
  test::TempDir scratch;
  const std::string audit = scratch.file("audit.jsonl");
  auto run = startRun(scratch, audit, {"--json"});
  ASSERT_TRUE(waitForDecodedSteps(*run, audit, 3)) << run->wait().err;
  ASSERT_TRUE(run->signal(SIGINT));
  const test::RunResult r = run->wait();
  EXPECT_EQ(r.exitCode, kInterruptedExitStatus) << r.err;
  const Json out = Json::parse(r.out);
  EXPECT_EQ(out["stop_reason"], "interrupted");
  EXPECT_GE(out["generated_ids"].size(), 3u);
  EXPECT_EQ(static_cast<long long>(out["generated_ids"].size()), generatedInSpeedLine(r.err));
  EXPECT_EQ(wholeJsonLines(test::readFile(audit)).size(), out["generated_ids"].size() + 1);
  EXPECT_TRUE(temporariesIn(scratch.path()).empty());
}

// Tests a second Ctrl-C after the first was seen: greta-run may quit before reaching a safe point,
// but still with status 130, no temporary left, and no audit file unless a whole one.
TEST_F(InterruptToolTest, GretaRunSecondCtrlCLeavesNoHalfFile) {
  test::TempDir scratch;
  const std::string audit = scratch.file("audit.jsonl");
  auto run = startRun(scratch, audit, {"--trace-delta"}); // slower steps: time for a second press
  ASSERT_TRUE(waitForDecodedSteps(*run, audit, 3)) << run->wait().err;
  ASSERT_TRUE(run->signal(SIGINT));
  run->waitUntil([&] { return run->errSoFar().find("greta: interrupted") != std::string::npos; });
  run->signal(SIGINT); // false if it already finished cleanly
  const test::RunResult r = run->wait();
  EXPECT_EQ(r.exitCode, kInterruptedExitStatus) << r.err;
  if (fs::exists(audit)) {
    EXPECT_FALSE(wholeJsonLines(test::readFile(audit)).empty());
  }
  EXPECT_TRUE(temporariesIn(scratch.path()).empty());
}

// Tests Ctrl-C while interactive greta-run waits for the next message: the wait ends at once
// (not at the next line of input), the speed line is printed and the status is 130.
TEST_F(InterruptToolTest, GretaRunInteractiveStopsAtThePrompt) {
  test::TempDir scratch;
  test::BackgroundTool run(std::string(GRETA_BIN_DIR) + "/greta-run",
                           {tinyBundle(), "-i", "-n", "4", "--temp", "0"}, scratch.path().string(),
                           /*pipeStdin=*/true);
  run.writeStdin("hello there\n");
  // The second "> " is the prompt for the next message: the first turn is done.
  ASSERT_TRUE(run.waitUntil([&] {
    const std::string err = run.errSoFar();
    return std::count(err.begin(), err.end(), '>') >= 2;
  })) << run.wait().err;
  ASSERT_TRUE(run.signal(SIGINT));
  EXPECT_TRUE(run.exitsWithin(60)) << "still waiting for input after Ctrl-C";
  const test::RunResult r = run.wait();
  EXPECT_EQ(r.exitCode, kInterruptedExitStatus) << r.err;
  const long long generated = generatedInSpeedLine(r.err);
  EXPECT_GE(generated, 1) << r.err;
  EXPECT_LE(generated, 4) << r.err;
}

// Tests Ctrl-C while greta-synth writes a model of about 1 GB: status 130, a message saying
// nothing was written, no output file and no temporary.
TEST_F(InterruptToolTest, GretaSynthLeavesNoFile) {
  test::TempDir scratch;
  const std::string out = scratch.file("big.gguf");
  test::BackgroundTool synth(std::string(GRETA_BIN_DIR) + "/greta-synth",
                             {"-o", out, "--preset", "tiny", "--layers", "4", "--dim", "2048",
                              "--heads", "16", "--kv-heads", "16", "--ffn", "8192"},
                             scratch.path().string());
  const std::string temporary = out + ".tmp-" + std::to_string(synth.pid());
  ASSERT_TRUE(synth.waitUntil([&] {
    std::error_code ignored;
    return fs::file_size(temporary, ignored) > 0 && !ignored;
  })) << synth.wait().err;
  ASSERT_TRUE(synth.signal(SIGINT));
  const test::RunResult r = synth.wait();
  EXPECT_EQ(r.exitCode, kInterruptedExitStatus) << r.err;
  EXPECT_NE(r.err.find("big.gguf: interrupted (Ctrl-C); nothing written"), std::string::npos)
      << r.err;
  EXPECT_FALSE(fs::exists(out));
  EXPECT_TRUE(temporariesIn(scratch.path()).empty()) << r.err;
}

} // namespace
} // namespace greta
