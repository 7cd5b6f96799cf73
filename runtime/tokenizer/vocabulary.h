//===- vocabulary.h - Tokenizer metadata read and validated from GGUF ------===//
//
// llama.cpp's converters store a tokenizer as `tokenizer.ggml.*` metadata: the token strings,
// their scores and types, BPE merges, and the ids of BOS/EOS/EOT/UNK. Vocabulary reads all of it
// once, checks it (array lengths equal to the token count, ids in range, types known) and keeps
// it in the form the tokenizers use. Every violation is a greta::Error naming the file, the key,
// the value and the limit.
//
// Thread-safety: immutable after fromGguf(); safe to read from any thread. Move-only.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace greta {

class GgufFile;

/// Token kinds as llama.cpp's converters write them to `tokenizer.ggml.token_type`.
enum class TokenType : int32_t {
  Undefined = 0,
  Normal = 1,
  Unknown = 2,
  Control = 3,     ///< BOS, EOS, <|eot_id|>, <|start_header_id|>, ...: never produced from text
                   ///< unless EncodeOptions::parseSpecial is set
  UserDefined = 4, ///< added tokens that always encode as one id when their text appears
  Unused = 5,
  Byte = 6,        ///< SentencePiece byte fallback <0xXX>
};

/// "Normal", "Control", ... (for messages).
std::string_view nameOf(TokenType type);

struct Vocabulary {
  std::string source;           ///< the GGUF file's path, for messages
  std::string model;            ///< tokenizer.ggml.model: "gpt2" or "llama"
  std::optional<std::string> pre; ///< tokenizer.ggml.pre, when present
  std::vector<std::string> tokens;
  std::vector<TokenType> types; ///< one per token (Normal when the file has no token_type)
  std::vector<float> scores;    ///< one per token, or empty when the file has none
  std::vector<std::string> merges; ///< "left right" pairs by rank, or empty (BPE only)
  int32_t bos = -1, eos = -1, eot = -1, unknown = -1, padding = -1; ///< -1: none
  std::optional<bool> addBos, addEos, addSpacePrefix; ///< as stored; defaults are per model

  /// Reads and validates the tokenizer metadata of `gguf`. Throws greta::Error on a missing
  /// tokenizer.ggml.model or tokenizer.ggml.tokens, on a value of the wrong type, on arrays whose
  /// length differs from the token count, on unknown token types and on out-of-range ids. EOT is
  /// tokenizer.ggml.eot_token_id, else the token "<|eot_id|>" if present.
  static Vocabulary fromGguf(const GgufFile &gguf);

  Vocabulary() = default;
  Vocabulary(Vocabulary &&) = default;
  Vocabulary &operator=(Vocabulary &&) = default;
  Vocabulary(const Vocabulary &) = delete;
  Vocabulary &operator=(const Vocabulary &) = delete;

  int32_t size() const { return static_cast<int32_t>(tokens.size()); }
  /// The id of the token spelled exactly `text` (the lowest id if several are), or nullopt.
  std::optional<int32_t> find(std::string_view text) const;
  /// Builds the text → id index; fromGguf() does this, tests that fill fields by hand call it.
  void buildIndex();

private:
  struct TextHash {
    using is_transparent = void;
    size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
  };
  std::unordered_map<std::string, int32_t, TextHash, std::equal_to<>> idOfText_;
};

} // namespace greta
