#include "runtime/tokenizer/unicode.h"

#include <array>

namespace greta {
namespace {

// A byte stands for itself in the byte-level alphabet when it is a visible Latin-1 character;
// the rest would be invisible or whitespace in a vocabulary file, so GPT-2 moved them to U+0100+.
constexpr bool standsForItself(uint8_t byte) {
  return (byte >= 0x21 && byte <= 0x7E) || (byte >= 0xA1 && byte <= 0xAC) || byte >= 0xAE;
}

struct ByteLevelTables {
  std::array<char32_t, 256> symbolOfByte{};
  // Every symbol is below U+0100 + 68, so a dense table indexed by code point covers them all.
  static constexpr char32_t kSymbolLimit = 0x100 + 68;
  std::array<int16_t, kSymbolLimit> byteOfSymbol{};
};

constexpr ByteLevelTables makeByteLevelTables() {
  ByteLevelTables tables;
  for (int16_t &b : tables.byteOfSymbol)
    b = -1;
  char32_t nextShifted = 0x100;
  for (int byte = 0; byte < 256; ++byte) {
    char32_t symbol = standsForItself(static_cast<uint8_t>(byte)) ? static_cast<char32_t>(byte)
                                                                  : nextShifted++;
    tables.symbolOfByte[byte] = symbol;
    tables.byteOfSymbol[symbol] = static_cast<int16_t>(byte);
  }
  return tables;
}

constexpr ByteLevelTables kByteLevel = makeByteLevelTables();
static_assert(kByteLevel.symbolOfByte[' '] == 0x120, "space is spelled 'Ġ' in GPT-2 vocabularies");
static_assert(kByteLevel.symbolOfByte['\n'] == 0x10A, "newline is spelled 'Ċ'");
static_assert(kByteLevel.symbolOfByte[0xAD] == 0x143, "the soft hyphen is the last shifted byte");

bool isContinuation(uint8_t byte) { return (byte & 0xC0) == 0x80; }

} // namespace

size_t utf8SequenceLength(std::string_view text) {
  if (text.empty())
    return 0;
  auto at = [&](size_t i) { return static_cast<uint8_t>(text[i]); };
  const uint8_t lead = at(0);
  if (lead < 0x80)
    return 1;
  size_t length;
  // The allowed range of the second byte excludes overlong forms, surrogates and > U+10FFFF.
  uint8_t secondMin = 0x80, secondMax = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0)
      secondMin = 0xA0;
    if (lead == 0xED)
      secondMax = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0)
      secondMin = 0x90;
    if (lead == 0xF4)
      secondMax = 0x8F;
  } else {
    return 0; // continuation byte, C0/C1 (always overlong) or F5-FF
  }
  if (text.size() < length || at(1) < secondMin || at(1) > secondMax)
    return 0;
  for (size_t i = 2; i < length; ++i)
    if (!isContinuation(at(i)))
      return 0;
  return length;
}

char32_t decodeUtf8(std::string_view sequence) {
  auto at = [&](size_t i) { return static_cast<char32_t>(static_cast<uint8_t>(sequence[i])); };
  switch (sequence.size()) {
  case 1:
    return at(0);
  case 2:
    return ((at(0) & 0x1F) << 6) | (at(1) & 0x3F);
  case 3:
    return ((at(0) & 0x0F) << 12) | ((at(1) & 0x3F) << 6) | (at(2) & 0x3F);
  default:
    return ((at(0) & 0x07) << 18) | ((at(1) & 0x3F) << 12) | ((at(2) & 0x3F) << 6) |
           (at(3) & 0x3F);
  }
}

void appendUtf8(std::string &out, char32_t codePoint) {
  auto put = [&](char32_t bits) { out.push_back(static_cast<char>(bits)); };
  if (codePoint < 0x80) {
    put(codePoint);
  } else if (codePoint < 0x800) {
    put(0xC0 | (codePoint >> 6));
    put(0x80 | (codePoint & 0x3F));
  } else if (codePoint < 0x10000) {
    put(0xE0 | (codePoint >> 12));
    put(0x80 | ((codePoint >> 6) & 0x3F));
    put(0x80 | (codePoint & 0x3F));
  } else {
    put(0xF0 | (codePoint >> 18));
    put(0x80 | ((codePoint >> 12) & 0x3F));
    put(0x80 | ((codePoint >> 6) & 0x3F));
    put(0x80 | (codePoint & 0x3F));
  }
}

char32_t byteLevelSymbol(uint8_t byte) { return kByteLevel.symbolOfByte[byte]; }

std::optional<uint8_t> byteLevelByte(char32_t codePoint) {
  if (codePoint >= ByteLevelTables::kSymbolLimit || kByteLevel.byteOfSymbol[codePoint] < 0)
    return std::nullopt;
  return static_cast<uint8_t>(kByteLevel.byteOfSymbol[codePoint]);
}

std::string byteLevelEncode(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes)
    appendUtf8(out, byteLevelSymbol(static_cast<uint8_t>(c)));
  return out;
}

} // namespace greta
