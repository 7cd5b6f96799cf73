//===- fnv1a.h - FNV-1a 64-bit hashing of bytes and float bit patterns -----===//
//
// The bundle's weight checksums, the source GGUF's header hash and the LM head's scales hash are
// FNV-1a 64: trivially reproducible from any language (numpy, a GPU kernel) and byte-order
// defined, which matters more here than collision strength. Text form: "fnv1a64:" followed by 16
// lower-case hex digits. The audit records' row hashes are a tree of FNV-1a 64 hashes that a GPU
// computes in parallel: audit_digest.h.
//
// Thread-safety: Fnv1a64 is a value; use one per thread.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace greta {

class Fnv1a64 {
public:
  static constexpr uint64_t kOffsetBasis = 0xcbf29ce484222325ull;
  static constexpr uint64_t kPrime = 0x100000001b3ull;

  /// Folds `bytes` into the hash, in order.
  void update(std::span<const uint8_t> bytes) {
    uint64_t hash = hash_;
    for (uint8_t byte : bytes) {
      hash ^= byte;
      hash *= kPrime;
    }
    hash_ = hash;
  }
  /// Folds the little-endian bit pattern of each float (the audit records' tensor hash).
  void update(std::span<const float> values) {
    for (float value : values) {
      uint32_t bits;
      std::memcpy(&bits, &value, sizeof bits);
      uint8_t bytes[sizeof bits];
      for (size_t i = 0; i < sizeof bits; ++i)
        bytes[i] = static_cast<uint8_t>(bits >> (8 * i));
      update(std::span<const uint8_t>(bytes, sizeof bytes));
    }
  }
  /// Folds the 8 little-endian bytes of `word` (the audit digest's tree levels).
  void update(uint64_t word) {
    uint8_t bytes[sizeof word];
    for (size_t i = 0; i < sizeof word; ++i)
      bytes[i] = static_cast<uint8_t>(word >> (8 * i));
    update(std::span<const uint8_t>(bytes, sizeof bytes));
  }
  uint64_t value() const { return hash_; }

private:
  uint64_t hash_ = kOffsetBasis;
};

inline constexpr std::string_view kFnv1a64Prefix = "fnv1a64:";

/// "fnv1a64:0123456789abcdef".
inline std::string formatFnv1a64(uint64_t hash) {
  return fmt::format("{}{:016x}", kFnv1a64Prefix, hash);
}

/// The hash of a "fnv1a64:<16 hex digits>" string, or nullopt when it has another form.
inline std::optional<uint64_t> parseFnv1a64(std::string_view text) {
  constexpr size_t kHexDigits = 16;
  if (text.size() != kFnv1a64Prefix.size() + kHexDigits || !text.starts_with(kFnv1a64Prefix))
    return std::nullopt;
  uint64_t hash = 0;
  for (char c : text.substr(kFnv1a64Prefix.size())) {
    uint64_t digit;
    if (c >= '0' && c <= '9')
      digit = static_cast<uint64_t>(c - '0');
    else if (c >= 'a' && c <= 'f')
      digit = static_cast<uint64_t>(c - 'a' + 10);
    else
      return std::nullopt;
    hash = (hash << 4) | digit;
  }
  return hash;
}

} // namespace greta
