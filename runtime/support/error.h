//===- error.h - The runtime's one error type ------------------------------===//
//
// Every user-facing failure in the runtime is a greta::Error whose message names the file, the
// field, the value and the limit ("model.gguf: tensor 'blk.0.attn_q.weight': offset 4096 + 2048
// bytes exceeds file size 5000"). Errors are thrown; tools catch them at main() and exit non-zero.
// Code compiled without exceptions (the MLIR compiler) reaches the runtime through functions that
// catch and convert (see each API's `try…` entry points), never through a throwing call.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace greta {

class Error : public std::runtime_error {
public:
  explicit Error(const std::string &message) : std::runtime_error(message) {}
};

/// A long operation stopped at a safe point after Ctrl-C (runtime/support/interrupt.h); tools
/// catch it and exit with kInterruptedExitStatus (130).
class Interrupted : public Error {
public:
  using Error::Error;
};

/// Throws greta::Error with a fmt-formatted message.
template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args &&...args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

} // namespace greta
