//===- special_tokens.h - Finding special token texts inside input text ----===//
//
// Before a tokenizer splits text into words, occurrences of special token texts are cut out and
// become their ids directly ("<|start_header_id|>" → 128006), so a chat prompt rendered as text
// encodes to the ids the model was trained on. Two groups are searched:
//   - user-defined tokens: always (they are atomic pieces of ordinary text);
//   - control and unknown tokens ("<|eot_id|>", "<s>", "<unk>"): only when the caller asks, because
//     user text that merely contains such a string must not turn into a control token.
// Where several tokens match at one position the longest wins; the leftmost position wins first.
//
// Thread-safety: immutable after construction; safe from any thread.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/tokenizer/vocabulary.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace greta {

class SpecialTokens {
public:
  /// Collects the control, unknown and user-defined tokens of `vocab` (empty texts are skipped:
  /// they cannot be found in text).
  explicit SpecialTokens(const Vocabulary &vocab);

  struct Match {
    size_t offset = 0; ///< byte offset in the searched text
    size_t length = 0; ///< bytes of the token text
    int32_t id = -1;
  };

  /// The first occurrence at or after byte `from` of a searched token, or nullopt. Control and
  /// unknown tokens take part only when `includeControl` is set.
  std::optional<Match> findNext(std::string_view text, size_t from, bool includeControl) const;

  /// The id of the control, unknown or user-defined token spelled exactly `text`.
  std::optional<int32_t> find(std::string_view text) const;

  /// True for token types that encode() cuts out of text (and after which SentencePiece adds the
  /// space prefix again).
  static bool isSpecialType(TokenType type);

private:
  struct Candidate {
    std::string text;
    int32_t id = -1;
    bool userDefined = false;
  };
  // Candidates grouped by their first byte, longest first, so a scan tests only plausible ones.
  std::array<std::vector<Candidate>, 256> byFirstByte_;
  std::unordered_map<std::string, int32_t> idOfText_;
};

} // namespace greta
