//===- run_tool.h - Run a built tool as a user would, for tests ------------===//
//
// Tests of greta-run and greta-audit-report run the binaries in GRETA_BIN_DIR through the shell,
// with arguments quoted, an optional environment and stdin, and read back the exit code, stdout
// and stderr.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <string>
#include <vector>

namespace greta::test {

struct RunResult {
  int exitCode = -1; ///< -1 when the tool did not exit normally
  std::string out;
  std::string err;
};

/// The whole file (empty when it cannot be read).
std::string readFile(const std::string &path);

/// `arg` quoted for the shell.
std::string shellQuote(const std::string &arg);

/// Runs `tool` (a path) with `args` under `env` ("NAME=value", value already quoted where it
/// needs to be) with `input` on stdin; `scratchDir` holds the redirected streams.
RunResult runTool(const std::string &tool, const std::vector<std::string> &args,
                  const std::string &scratchDir, const std::string &input = "",
                  const std::vector<std::string> &env = {});

} // namespace greta::test
