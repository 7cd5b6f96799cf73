//===- utf8_stream_test.cpp - Streaming token bytes as whole characters -----===//
#include "runtime/engine/utf8_stream.h"

#include <gtest/gtest.h>

namespace greta::engine {
namespace {

// Tests that a character split across tokens is printed only once complete, for 2- and 4-byte
// sequences split at every point.
TEST(Utf8Stream, HoldsBackSplitCharacters) {
  for (const std::string text : {"caf\xC3\xA9!", "a\xF0\x9F\x98\x80z"}) {
    for (size_t cut = 0; cut <= text.size(); ++cut) {
      Utf8Stream stream;
      const std::string first = stream.push(text.substr(0, cut));
      const std::string second = stream.push(text.substr(cut));
      EXPECT_EQ(first + second + stream.finish(), text);
      // Nothing printed may end inside a character.
      if (!first.empty()) {
        const auto last = static_cast<unsigned char>(first.back());
        EXPECT_TRUE(last < 0x80 || (last & 0xC0) == 0x80) << "cut " << cut;
        EXPECT_EQ(text.compare(0, first.size(), first), 0);
      }
    }
  }
  Utf8Stream stream;
  EXPECT_EQ(stream.push("caf\xC3"), "caf");
  EXPECT_EQ(stream.push("\xA9"), "\xC3\xA9");
}

// Tests that bytes that can never form a character pass through, and finish() flushes an
// incomplete tail at the end of the output.
TEST(Utf8Stream, PassesInvalidBytesAndFlushesAtEnd) {
  Utf8Stream stream;
  EXPECT_EQ(stream.push("x\xFF\x80"), "x\xFF\x80");
  EXPECT_EQ(stream.push("\xE2\x82"), "");
  EXPECT_EQ(stream.finish(), "\xE2\x82");
}

} // namespace
} // namespace greta::engine
