//===- utf8_stream.h - Print token bytes without splitting characters ------===//
//
// A byte-level BPE token may end in the middle of a UTF-8 character ("é" can be two byte
// tokens). Streaming output holds back an incomplete trailing sequence until the bytes that
// complete it arrive, so a terminal never sees half a character. Bytes that can never become
// valid UTF-8 (a stray continuation byte, an invalid lead byte) are passed through unchanged.
//
// Thread-safety: a value; one per output stream.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <string>
#include <string_view>

namespace greta::engine {

class Utf8Stream {
public:
  /// Appends `bytes`; returns what can be printed now (everything but an incomplete tail).
  std::string push(std::string_view bytes);
  /// Returns whatever is held back (at the end of the output).
  std::string finish();

private:
  std::string pending_;
};

} // namespace greta::engine
