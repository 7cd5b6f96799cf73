//===- audit_run.h - The audit reference case through greta-run, for tests -===//
//
// greta_audit_report_test (CPU backend) and audit_gpu_test (GPU) run the same reference case as
// a user would: greta-run on a system + user chat prompt with audits to a JSONL file, then
// greta-audit-report on it. Header-only: the tools come from the including test's GRETA_BIN_DIR.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "test/unit/support/run_tool.h"

#include <string>
#include <vector>

#ifndef GRETA_BIN_DIR
#error "audit_run.h runs the built tools: the test must define GRETA_BIN_DIR"
#endif

namespace greta::test {

inline constexpr const char *kAuditSystem = "You are a helpful assistant. Answer in one word.";
inline constexpr const char *kAuditSpanish = "¿Cuál es la capital de Argentina?";

/// Runs the tool `name` of GRETA_BIN_DIR with `args` under `env` ("NAME=value" each); the
/// redirected streams live in `scratchDir`.
inline RunResult runBinTool(const std::string &name, const std::vector<std::string> &args,
                            const std::string &scratchDir,
                            const std::vector<std::string> &env = {}) {
  return runTool(std::string(GRETA_BIN_DIR) + "/" + name, args, scratchDir, "", env);
}

/// greta-run on `bundle` with the chat prompt (system kAuditSystem, user kAuditSpanish), greedy,
/// 3 tokens, 2 threads, then `extra`; with `jsonl` non-empty the records go there (--audit-out),
/// else the environment must name the file.
inline RunResult runAuditChat(const std::string &bundle, const std::string &jsonl,
                              const std::vector<std::string> &extra,
                              const std::string &scratchDir,
                              const std::vector<std::string> &env = {}) {
  std::vector<std::string> args = {bundle, "--chat", "--system", kAuditSystem, "-p", kAuditSpanish,
                                   "-n",   "3",      "--temp",   "0",          "--threads", "2"};
  if (!jsonl.empty()) {
    args.push_back("--audit-out");
    args.push_back(jsonl);
  }
  args.insert(args.end(), extra.begin(), extra.end());
  return runBinTool("greta-run", args, scratchDir, env);
}

} // namespace greta::test
