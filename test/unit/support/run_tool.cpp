//===- run_tool.cpp - Run a built tool as a user would, for tests ----------===//
#include "test/unit/support/run_tool.h"

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sys/wait.h>

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

} // namespace greta::test
