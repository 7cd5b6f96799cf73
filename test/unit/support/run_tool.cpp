//===- run_tool.cpp - Run a built tool as a user would, for tests ----------===//
#include "test/unit/support/run_tool.h"

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <iterator>
#include <spawn.h>
#include <stdexcept>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char **environ;

namespace greta::test {

std::string readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string shellQuote(const std::string &arg) {
  std::string quoted = "'";
  for (char c : arg)
    quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

RunResult runTool(const std::string &tool, const std::vector<std::string> &args,
                  const std::string &scratchDir, const std::string &input,
                  const std::vector<std::string> &env) {
  std::string command;
  for (const std::string &e : env)
    command += e + " ";
  command += shellQuote(tool);
  for (const std::string &arg : args)
    command += " " + shellQuote(arg);
  const std::string in = scratchDir + "/stdin.txt", out = scratchDir + "/stdout.txt",
                    err = scratchDir + "/stderr.txt";
  std::ofstream(in, std::ios::binary) << input;
  command += " <" + shellQuote(in) + " >" + shellQuote(out) + " 2>" + shellQuote(err);
  const int status = std::system(command.c_str());
  RunResult result;
  result.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.out = readFile(out);
  result.err = readFile(err);
  return result;
}

BackgroundTool::BackgroundTool(const std::string &tool, const std::vector<std::string> &args,
                               const std::string &scratchDir, bool pipeStdin)
    : out_(scratchDir + "/stdout.txt"), err_(scratchDir + "/stderr.txt") {
  posix_spawn_file_actions_t files;
  posix_spawn_file_actions_init(&files);
  int pipeEnds[2] = {-1, -1};
  if (pipeStdin) {
    if (::pipe2(pipeEnds, O_CLOEXEC) != 0)
      throw std::runtime_error("cannot create a pipe for " + tool);
    posix_spawn_file_actions_adddup2(&files, pipeEnds[0], STDIN_FILENO); // clears CLOEXEC
    stdinPipe_ = pipeEnds[1];
  } else {
    posix_spawn_file_actions_addopen(&files, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  }
  posix_spawn_file_actions_addopen(&files, STDOUT_FILENO, out_.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&files, STDERR_FILENO, err_.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  std::vector<char *> argv = {const_cast<char *>(tool.c_str())};
  for (const std::string &arg : args)
    argv.push_back(const_cast<char *>(arg.c_str()));
  argv.push_back(nullptr);
  const int error = posix_spawn(&pid_, tool.c_str(), &files, &attributes, argv.data(), environ);
  posix_spawnattr_destroy(&attributes);
  posix_spawn_file_actions_destroy(&files);
  if (pipeEnds[0] >= 0)
    ::close(pipeEnds[0]);
  if (error != 0)
    throw std::runtime_error("cannot start " + tool);
}

BackgroundTool::~BackgroundTool() {
  if (running()) {
    ::kill(pid_, SIGKILL);
    wait();
  }
}

bool BackgroundTool::running() {
  if (exited_)
    return false;
  if (::waitpid(pid_, &status_, WNOHANG) == pid_)
    exited_ = true;
  return !exited_;
}

void BackgroundTool::writeStdin(const std::string &text) {
  if (stdinPipe_ < 0 ||
      ::write(stdinPipe_, text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    throw std::runtime_error("cannot write to the tool's stdin");
}

bool BackgroundTool::signal(int signo) { return running() && ::kill(pid_, signo) == 0; }

bool BackgroundTool::waitUntil(const std::function<bool()> &ready, double timeoutSeconds) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::duration<double>(timeoutSeconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (ready())
      return running();
    if (!running())
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

bool BackgroundTool::exitsWithin(double seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (running() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return !running();
}

RunResult BackgroundTool::wait() {
  if (stdinPipe_ >= 0) {
    ::close(stdinPipe_);
    stdinPipe_ = -1;
  }
  if (!exited_ && ::waitpid(pid_, &status_, 0) == pid_)
    exited_ = true;
  RunResult result;
  result.exitCode = WIFEXITED(status_) ? WEXITSTATUS(status_) : -1;
  result.out = readFile(out_);
  result.err = readFile(err_);
  return result;
}

std::string BackgroundTool::errSoFar() const { return readFile(err_); }

} // namespace greta::test
