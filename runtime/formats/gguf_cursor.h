//===- gguf_cursor.h - Bounds-checked little-endian reads from a GGUF image -===//
//
// The reader walks an untrusted byte image through this cursor only: every read checks the bytes
// left first, and every failure becomes a greta::Error "<file>: <field>: <what>". Field names are
// passed as callables (or plain strings) and formatted only when an error is raised, so the hot
// loop over 280k merge strings builds no strings.
//
// Thread-safety: a cursor is a position; use one per thread.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/support/error.h"

#include <bit>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

namespace greta {

// GGUF is little-endian and values are memcpy'd from the mapping; a big-endian host would need
// byte swaps everywhere, which nothing GRETA targets requires.
static_assert(std::endian::native == std::endian::little, "GGUF reading assumes a little-endian host");

/// `text` in single quotes for an error message, with control and non-ASCII bytes escaped (\xNN)
/// and anything past `maxChars` elided, since names in a corrupt file can hold anything.
inline std::string quotedForError(std::string_view text, size_t maxChars = 80) {
  std::string out = "'";
  for (size_t i = 0; i < text.size(); ++i) {
    if (i == maxChars) {
      out += fmt::format("...' ({} bytes)", text.size());
      return out;
    }
    auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c >= 0x7f || c == '\\' || c == '\'')
      out += fmt::format("\\x{:02x}", c);
    else
      out += static_cast<char>(c);
  }
  return out + "'";
}

class GgufCursor {
public:
  /// `label` names the image in errors; both spans must outlive the cursor.
  GgufCursor(std::span<const uint8_t> bytes, std::string_view label)
      : bytes_(bytes), label_(label) {}

  uint64_t offset() const { return offset_; }
  uint64_t size() const { return bytes_.size(); }
  uint64_t remaining() const { return bytes_.size() - offset_; }
  std::string_view label() const { return label_; }
  std::span<const uint8_t> bytes() const { return bytes_; }

  /// Throws "<label>: <field>: <message>".
  template <typename Field, typename... Args>
  [[noreturn]] void fail(const Field &field, fmt::format_string<Args...> format,
                         Args &&...args) const {
    greta::fail("{}: {}: {}", label_, describe(field),
                fmt::format(format, std::forward<Args>(args)...));
  }

  /// Fails unless `n` more bytes are available.
  template <typename Field> void require(uint64_t n, const Field &field) const {
    if (n > remaining())
      fail(field, "truncated: needs {} bytes at offset {} but the file ends at {}", n, offset_,
           bytes_.size());
  }

  /// Reads one little-endian scalar (an integer or float type).
  template <typename T, typename Field> T read(const Field &field) {
    static_assert(std::is_arithmetic_v<T>);
    require(sizeof(T), field);
    T value;
    std::memcpy(&value, bytes_.data() + offset_, sizeof(T));
    offset_ += sizeof(T);
    return value;
  }

  /// Reads a GGUF string (uint64 length, then bytes) of at most `maxBytes`; the view points into
  /// the image.
  template <typename Field> std::string_view readString(const Field &field, uint64_t maxBytes) {
    uint64_t length = read<uint64_t>(field);
    if (length > maxBytes)
      fail(field, "string length too large ({} vs limit {} bytes)", length, maxBytes);
    if (length > remaining())
      fail(field, "string of {} bytes extends past end of file ({} vs limit {} bytes left at offset {})",
           length, length, remaining(), offset_);
    std::string_view text(reinterpret_cast<const char *>(bytes_.data() + offset_), length);
    offset_ += length;
    return text;
  }

private:
  template <typename Field> static std::string describe(const Field &field) {
    if constexpr (std::is_invocable_v<const Field &>)
      return field();
    else
      return std::string(field);
  }

  std::span<const uint8_t> bytes_;
  std::string_view label_;
  uint64_t offset_ = 0;
};

} // namespace greta
