//===- gguf_test_support.h - Helpers shared by the GGUF unit tests ---------===//
//
// Capturing an expected greta::Error's message, patching little-endian fields of an in-memory
// GGUF image, and finding a field by the bytes of a name stored just before it.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/support/error.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace greta::test {

/// Runs `action`, which must throw greta::Error, and returns the message ("" and a test failure
/// if it did not throw).
template <typename Action> std::string errorOf(Action &&action) {
  try {
    action();
  } catch (const Error &e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a greta::Error";
  return "";
}

/// Asserts that `action` throws a greta::Error whose message contains every one of `parts`.
template <typename Action>
void expectError(Action &&action, std::initializer_list<std::string_view> parts) {
  std::string message = errorOf(action);
  for (std::string_view part : parts)
    EXPECT_NE(message.find(part), std::string::npos)
        << "message: " << message << "\nmissing: " << part;
}

template <typename T> void patch(std::vector<uint8_t> &bytes, size_t offset, T value) {
  ASSERT_LE(offset + sizeof(T), bytes.size());
  std::memcpy(bytes.data() + offset, &value, sizeof(T));
}

template <typename T> T peek(const std::vector<uint8_t> &bytes, size_t offset) {
  T value{};
  std::memcpy(&value, bytes.data() + offset, sizeof(T));
  return value;
}

/// Offset of the first occurrence of `text` in `bytes`; fails the test if absent.
inline size_t offsetOf(const std::vector<uint8_t> &bytes, std::string_view text) {
  auto it = std::search(bytes.begin(), bytes.end(), text.begin(), text.end());
  EXPECT_NE(it, bytes.end()) << "'" << text << "' not found in the image";
  return static_cast<size_t>(it - bytes.begin());
}

/// Offset just after a stored string `text` (its uint64 length precedes it): where the field
/// that follows a key or tensor name starts.
inline size_t offsetAfter(const std::vector<uint8_t> &bytes, std::string_view text) {
  return offsetOf(bytes, text) + text.size();
}

} // namespace greta::test
