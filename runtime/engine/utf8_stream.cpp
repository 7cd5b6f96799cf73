//===- utf8_stream.cpp - Print token bytes without splitting characters ----===//
#include "runtime/engine/utf8_stream.h"

#include <algorithm>
#include <utility>

namespace greta::engine {
namespace {

/// Length of the sequence a lead byte starts, or 0 for a byte that starts none.
size_t sequenceLength(unsigned char lead) {
  if (lead < 0x80)
    return 1;
  if (lead >= 0xC2 && lead <= 0xDF)
    return 2;
  if (lead >= 0xE0 && lead <= 0xEF)
    return 3;
  if (lead >= 0xF0 && lead <= 0xF4)
    return 4;
  return 0;
}

bool isContinuation(unsigned char byte) { return (byte & 0xC0) == 0x80; }

/// UTF-8 sequences are at most 4 bytes: an incomplete one has at most 3.
constexpr size_t kMaxIncomplete = 3;

} // namespace

std::string Utf8Stream::push(std::string_view bytes) {
  pending_.append(bytes);
  // Find the last lead byte among the final kMaxIncomplete bytes; hold it back if the bytes
  // after it do not complete its sequence yet.
  size_t ready = pending_.size();
  const size_t lookBack = std::min(pending_.size(), kMaxIncomplete);
  for (size_t back = 1; back <= lookBack; ++back) {
    const size_t at = pending_.size() - back;
    const auto byte = static_cast<unsigned char>(pending_[at]);
    if (isContinuation(byte))
      continue;
    const size_t length = sequenceLength(byte);
    if (length > back)
      ready = at;
    break;
  }
  std::string out = pending_.substr(0, ready);
  pending_.erase(0, ready);
  return out;
}

std::string Utf8Stream::finish() { return std::exchange(pending_, std::string()); }

} // namespace greta::engine
