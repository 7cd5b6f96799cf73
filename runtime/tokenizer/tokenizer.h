//===- tokenizer.h - Text <-> token ids for Llama models, from GGUF --------===//
//
// A Tokenizer is built from a GGUF file's `tokenizer.ggml.*` metadata. Two models are supported:
//   gpt2  + pre "llama-bpe" - Llama-3: byte-level BPE over pieces cut by the Llama-3 split regex,
//                             merges applied by rank (ignore_merges: a piece that is itself a
//                             token is not merged).
//   llama (SentencePiece)   - Llama-2: spaces become U+2581 "▁" with one prefixed at the start of
//                             text, pieces merge by score, bytes without a token fall back to
//                             <0xXX> tokens (or the unknown token).
// Results match llama.cpp and Hugging Face on the vectors in ../shared/testdata.
//
// Special tokens: encode() cuts user-defined token texts out of the input always, and control
// and unknown token texts ("<|eot_id|>", "<s>", "<unk>") only with EncodeOptions::parseSpecial;
// each becomes its id (the longest at a position wins). decode() renders control tokens as their
// text unless DecodeOptions::renderControl is false.
//
// Ill-formed UTF-8 input is not an error and never reaches the regex engine: every byte that
// does not start a well-formed sequence is a piece of its own and becomes its byte token (BPE)
// or <0xXX> token (SentencePiece).
//
// Round trip: decode(encode(x)) == x for any bytes x, with or without parseSpecial (with addBos,
// BOS's text comes first), provided every byte has a token: always for byte-level BPE; for
// SentencePiece when the vocabulary has <0xXX> tokens (Llama-2's has), else a character without a
// piece becomes the unknown token. For SentencePiece, decode() removes the space encode()
// prefixed (DecodeOptions::removeSpacePrefix), and a literal U+2581 "▁" in x comes back as a
// space, since SentencePiece spells spaces with it.
//
// Thread-safety: immutable after construction; encode/decode may run concurrently on one object.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/tokenizer/special_tokens.h"
#include "runtime/tokenizer/vocabulary.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace greta {

class GgufFile;

struct EncodeOptions {
  bool addBos = false;       ///< start with the BOS id (an Error if the model has none)
  bool parseSpecial = false; ///< turn control token texts in the input into their ids
};

struct DecodeOptions {
  /// Render control tokens (BOS, <|eot_id|>, ...) as their text; when false they add nothing.
  bool renderControl = true;
  /// For models that prefix a space when encoding (SentencePiece): drop one leading space from
  /// the text at the start and after each control, unknown or user-defined token, undoing the
  /// prefix. Set false when decoding a continuation of earlier output (the ids did not start
  /// the text).
  bool removeSpacePrefix = true;
};

class Tokenizer {
public:
  /// Reads the tokenizer of `gguf` (the GgufFile may be closed afterwards). Throws greta::Error
  /// naming the file, key and value for an unsupported tokenizer.ggml.model or .pre (listing the
  /// supported values) and for invalid metadata (see Vocabulary::fromGguf; BPE merges that are
  /// not "left right" with both sides and their concatenation in the vocabulary).
  static std::unique_ptr<Tokenizer> fromGguf(const GgufFile &gguf);
  virtual ~Tokenizer();

  /// Token ids of `text` (any bytes; see ill-formed UTF-8 above).
  std::vector<int32_t> encode(std::string_view text, const EncodeOptions &options = {}) const;
  /// The text of `ids`. Throws greta::Error naming the first id outside [0, vocabSize()).
  std::string decode(std::span<const int32_t> ids, const DecodeOptions &options = {}) const;
  /// The bytes token `id` stands for in output (a control token's own text; no prefix
  /// removal). May be a partial UTF-8 sequence (byte tokens). Throws for an out-of-range id.
  const std::string &tokenText(int32_t id) const;
  TokenType tokenType(int32_t id) const; ///< throws for an out-of-range id
  bool isControl(int32_t id) const;      ///< tokenType(id) == Control; throws when out of range

  int32_t vocabSize() const { return vocab_.size(); }
  int32_t bos() const { return vocab_.bos; } ///< -1 when the file has none
  int32_t eos() const { return vocab_.eos; } ///< -1 when the file has none
  /// End of turn: tokenizer.ggml.eot_token_id, else the token "<|eot_id|>", else -1.
  int32_t eot() const { return vocab_.eot; }
  /// True when the model expects BOS at the start of a prompt (tokenizer.ggml.add_bos_token;
  /// default true for SentencePiece, false for BPE).
  bool addsBosByDefault() const;
  /// The id of the control, unknown or user-defined token spelled exactly `text`.
  std::optional<int32_t> findSpecial(std::string_view text) const { return special_.find(text); }
  /// tokenizer.ggml.model: "gpt2" or "llama".
  std::string_view model() const { return vocab_.model; }
  /// The GGUF file the tokenizer came from (for messages).
  const std::string &source() const { return vocab_.source; }

protected:
  /// `decodedPieces` holds tokenText() of every id; `addsSpacePrefix` says whether the encoder
  /// prefixes a space to text at the start and after special tokens.
  Tokenizer(Vocabulary vocab, std::vector<std::string> decodedPieces, bool addsSpacePrefix);

  /// Appends the ids of `fragment`, a stretch of input text holding no special token (never
  /// empty). `startsText` is true at the start of the input and right after a special token.
  virtual void encodeFragment(std::string_view fragment, bool startsText,
                              std::vector<int32_t> &out) const = 0;

  const Vocabulary &vocab() const { return vocab_; }
  bool addsSpacePrefix() const { return addsSpacePrefix_; }

private:
  void checkId(int32_t id) const;

  Vocabulary vocab_;
  SpecialTokens special_;
  std::vector<std::string> decodedPieces_;
  bool addsSpacePrefix_ = false;
};

} // namespace greta
