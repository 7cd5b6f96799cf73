//===- unicode.h - UTF-8 sequences and the GPT-2 byte-level alphabet -------===//
//
// Tokenizers see text as bytes that are usually, but not always, UTF-8. These helpers tell a
// well-formed UTF-8 sequence from stray bytes (so ill-formed input is handled by a defined rule
// instead of undefined regex behaviour) and map between bytes and the 256 printable code points
// that byte-level BPE vocabularies (GPT-2, Llama-3) spell their tokens with.
//
// Thread-safety: pure functions over immutable tables; safe from any thread.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace greta {

/// Length in bytes (1-4) of the well-formed UTF-8 sequence that starts `text`, or 0 when `text`
/// is empty or its first bytes are not one: a stray continuation byte, a truncated sequence, an
/// overlong form, a surrogate (U+D800-U+DFFF) or a value above U+10FFFF.
size_t utf8SequenceLength(std::string_view text);

/// The code point of a sequence that utf8SequenceLength() accepted (`sequence` holds exactly it).
char32_t decodeUtf8(std::string_view sequence);

/// Appends the UTF-8 form of `codePoint` (at most U+10FFFF, not a surrogate) to `out`.
void appendUtf8(std::string &out, char32_t codePoint);

/// The code point GPT-2's byte-level alphabet spells `byte` with: printable Latin-1 bytes stand
/// for themselves, the other 68 (controls, space, DEL, NBSP, soft hyphen) for U+0100 onwards.
char32_t byteLevelSymbol(uint8_t byte);

/// The byte a byte-level code point stands for, or nullopt for a code point outside the alphabet.
std::optional<uint8_t> byteLevelByte(char32_t codePoint);

/// Spells each byte of `bytes` with its byte-level symbol, as UTF-8 (the form vocabulary entries
/// and merges of byte-level BPE use).
std::string byteLevelEncode(std::string_view bytes);

} // namespace greta
