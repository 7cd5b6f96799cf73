//===- run_tool.h - Run a built tool as a user would, for tests ------------===//
//
// Tests of greta-run and greta-audit-report run the binaries in GRETA_BIN_DIR through the shell,
// with arguments quoted, an optional environment and stdin, and read back the exit code, stdout
// and stderr; or start one in the background, to signal it while it runs.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <functional>
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

/// A tool started in the background (stdout and stderr to files in `scratchDir`; stdin /dev/null,
/// or a pipe fed by writeStdin()), for tests that signal it while it runs. SIGINT and SIGTERM
/// start at their default action even where the test runner ignores them. The destructor kills
/// it if still running.
class BackgroundTool {
public:
  BackgroundTool(const std::string &tool, const std::vector<std::string> &args,
                 const std::string &scratchDir, bool pipeStdin = false);
  ~BackgroundTool();
  BackgroundTool(const BackgroundTool &) = delete;
  BackgroundTool &operator=(const BackgroundTool &) = delete;

  int pid() const { return pid_; }
  /// Writes to the tool's stdin (pipeStdin only); the pipe stays open until wait().
  void writeStdin(const std::string &text);
  /// Sends `signo`; false if the tool has already exited.
  bool signal(int signo);
  /// Polls (every millisecond, up to `timeoutSeconds`) until `ready()` or the tool exits; true if
  /// ready() became true while the tool still ran.
  bool waitUntil(const std::function<bool()> &ready, double timeoutSeconds = 60);
  /// Whether the tool exits within `seconds` (stdin left open).
  bool exitsWithin(double seconds);
  /// Closes stdin and waits for the exit; exitCode is -1 when a signal ended the tool.
  RunResult wait();
  /// What the tool has written to stderr so far.
  std::string errSoFar() const;

private:
  bool running();

  int pid_ = -1;
  int stdinPipe_ = -1; // the write end, with pipeStdin
  int status_ = 0;
  bool exited_ = false;
  std::string out_, err_;
};

} // namespace greta::test
