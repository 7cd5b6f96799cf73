//===- line_reader.h - Read lines from a descriptor, waking up on Ctrl-C ---===//
//
// Interactive tools wait for the user's next line; Ctrl-C must end that wait, not only the work
// around it. The interrupt handler restarts interrupted reads (SA_RESTART), so std::getline would
// keep waiting; this reader waits in poll(), which returns on any signal, and checks
// interruptRequested() (runtime/support/interrupt.h). It owns its buffer, so it knows whether a
// line is already read ahead.
//
// Thread-safety: not thread-safe; one reader per descriptor.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <string>

namespace greta {

class LineReader {
public:
  explicit LineReader(int fd) : fd_(fd) {}

  /// The next line without its '\n' (a last line without one counts). False at the end of the
  /// input or when Ctrl-C was pressed (interruptRequested() tells which). Throws greta::Error on a
  /// read error.
  bool next(std::string &line);

private:
  int fd_;
  std::string buffer_;
  bool ended_ = false;
};

} // namespace greta
