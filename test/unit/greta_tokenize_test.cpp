//===- greta_tokenize_test.cpp - The greta-tokenize command-line tool ------===//
//
// Runs GRETA_BIN_DIR/greta-tokenize as a user would, with stdin from a file, and checks its
// output lines, its exit status and the line numbers in its error messages.
//
//===----------------------------------------------------------------------===//
#include "test/unit/support/shared_testdata.h"

#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace {

const std::string kTool = GRETA_BIN_DIR "/greta-tokenize";
const std::string kLlama3 = GRETA_SHARED_TESTDATA "/llama3-tokenizer/llama3-vocab.gguf";
const std::string kLlama2 = GRETA_SHARED_TESTDATA "/llama-spm/ggml-vocab-llama-spm.gguf";

struct ToolResult {
  int exitCode = -1;
  std::string out, err;
};

std::string slurp(const std::filesystem::path &path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

/// Runs the tool on `model` with `args`, feeding `input` on stdin.
ToolResult runTool(const std::string &model, const std::string &args, const std::string &input) {
  const std::filesystem::path dir = std::filesystem::path(::testing::TempDir()) /
                                    ("greta_tokenize_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "in", std::ios::binary) << input;
  const std::string command = "'" + kTool + "' '" + model + "' " + args + " < '" +
                              (dir / "in").string() + "' > '" + (dir / "out").string() +
                              "' 2> '" + (dir / "err").string() + "'";
  const int status = std::system(command.c_str());
  ToolResult result;
  result.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.out = slurp(dir / "out");
  result.err = slurp(dir / "err");
  std::filesystem::remove_all(dir);
  return result;
}

// Tests that each JSON string line becomes one JSON array line, with --bos and --special.
TEST(GretaTokenize, EncodesLines) {
  GRETA_NEEDS_SHARED_TESTDATA();
  const ToolResult plain = runTool(kLlama3, "", "\"Hello world\"\n\"\"\n\"<|eot_id|>\"\n");
  ASSERT_EQ(plain.exitCode, 0) << plain.err;
  EXPECT_EQ(plain.out, "[9906,1917]\n[]\n[27,91,68,354,851,91,29]\n");

  const ToolResult special =
      runTool(kLlama3, "--bos --special", "\"Hello world\"\n\"<|eot_id|>\"\n");
  ASSERT_EQ(special.exitCode, 0) << special.err;
  EXPECT_EQ(special.out, "[128000,9906,1917]\n[128000,128009]\n");

  const ToolResult spm = runTool(kLlama2, "", "\"Hello world\"\n\" Hello\"\n");
  ASSERT_EQ(spm.exitCode, 0) << spm.err;
  EXPECT_EQ(spm.out, "[15043,3186]\n[29871,15043]\n");
}

// Tests that --decode turns id arrays back into JSON strings.
TEST(GretaTokenize, DecodesLines) {
  GRETA_NEEDS_SHARED_TESTDATA();
  const ToolResult result = runTool(kLlama3, "--decode", "[9906,1917]\n[]\n[128000, 198]\n");
  ASSERT_EQ(result.exitCode, 0) << result.err;
  EXPECT_EQ(result.out, "\"Hello world\"\n\"\"\n\"<|begin_of_text|>\\n\"\n");

  // Id 187 is the lone byte 0xFF, which a JSON string cannot hold: it is written as U+FFFD.
  const ToolResult partial = runTool(kLlama3, "--decode", "[187]\n");
  ASSERT_EQ(partial.exitCode, 0) << partial.err;
  EXPECT_EQ(partial.out, "\"\xEF\xBF\xBD\"\n");
}

// Tests that a bad line stops the tool with exit status 1 and a message naming the line.
TEST(GretaTokenize, BadLinesNameTheLineNumber) {
  GRETA_NEEDS_SHARED_TESTDATA();
  const ToolResult badJson = runTool(kLlama3, "", "\"ok\"\n{not json\n\"never\"\n");
  EXPECT_EQ(badJson.exitCode, 1);
  EXPECT_EQ(badJson.out, "[564]\n");
  EXPECT_NE(badJson.err.find("<stdin>:2: invalid JSON"), std::string::npos) << badJson.err;

  const ToolResult notString = runTool(kLlama3, "", "42\n");
  EXPECT_EQ(notString.exitCode, 1);
  EXPECT_NE(notString.err.find("<stdin>:1: expected a JSON string, got number"),
            std::string::npos)
      << notString.err;

  const ToolResult outOfRange = runTool(kLlama3, "--decode", "[1]\n[1, 128256]\n");
  EXPECT_EQ(outOfRange.exitCode, 1);
  EXPECT_NE(outOfRange.err.find("<stdin>:2:"), std::string::npos) << outOfRange.err;
  EXPECT_NE(outOfRange.err.find("ids[1] = 128256"), std::string::npos) << outOfRange.err;
  EXPECT_NE(outOfRange.err.find("vocab size 128256"), std::string::npos) << outOfRange.err;

  const ToolResult notId = runTool(kLlama3, "--decode", "[1.5]\n");
  EXPECT_EQ(notId.exitCode, 1);
  EXPECT_NE(notId.err.find("<stdin>:1: element 0 = 1.5"), std::string::npos) << notId.err;
}

// Tests that a missing model file is an error naming the path.
TEST(GretaTokenize, MissingModelIsAnError) {
  const ToolResult result = runTool("/nonexistent/model.gguf", "", "\"x\"\n");
  EXPECT_EQ(result.exitCode, 1);
  EXPECT_NE(result.err.find("/nonexistent/model.gguf"), std::string::npos) << result.err;
}

} // namespace
