//===- regex_splitter.h - Pre-tokenization by a PCRE2 split pattern --------===//
//
// Byte-level BPE tokenizers first cut text into pieces with a regular expression (Llama-3's
// pattern separates words, 1-3 digit numbers, punctuation runs and whitespace) and merge only
// inside a piece. RegexSplitter applies such a pattern the way Hugging Face's `Split` with
// behaviour "Isolated" does: every match is a piece and so is every stretch between matches, so
// the pieces always concatenate back to the input.
//
// Pattern dialect: PCRE2 with UTF and UCP. `\s` and `\S` are rewritten to Unicode White_Space
// (what Hugging Face's regex engine means by them; PCRE2's own UCP `\s` also takes U+180E).
//
// Ill-formed UTF-8: PCRE2 cannot match it, so each byte that does not start a well-formed
// sequence becomes a piece of its own, and the well-formed runs between such bytes are split
// independently (a lookahead at the end of a run sees the end of the text).
//
// Thread-safety: immutable after construction; split() may be called from many threads at once.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <memory>
#include <string_view>
#include <vector>

namespace greta {

class RegexSplitter {
public:
  /// Compiles `pattern` (JIT-compiled when PCRE2 supports it). Throws greta::Error with PCRE2's
  /// message and the offset in the pattern if it does not compile.
  explicit RegexSplitter(std::string_view pattern);
  RegexSplitter(RegexSplitter &&) noexcept;
  RegexSplitter &operator=(RegexSplitter &&) noexcept;
  ~RegexSplitter();

  /// Appends the pieces of `text` to `pieces` (views into `text`, never empty, in order).
  void split(std::string_view text, std::vector<std::string_view> &pieces) const;

private:
  struct Compiled;
  std::unique_ptr<Compiled> compiled_;
  void splitWellFormed(std::string_view run, std::vector<std::string_view> &pieces) const;
};

} // namespace greta
