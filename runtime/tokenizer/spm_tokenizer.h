//===- spm_tokenizer.h - SentencePiece BPE (tokenizer.ggml.model = llama) --===//
//
// Llama-2's tokenizer. Encoding a fragment of text:
//   1. replace every space with U+2581 "▁" and, at the start of the text and after a special
//      token, prefix one (tokenizer.ggml.add_space_prefix, default true);
//   2. start from one symbol per character (a byte that is not well-formed UTF-8 is a symbol of
//      its own) and repeatedly merge the adjacent pair whose concatenation is the vocabulary
//      piece with the highest score (leftmost first on ties) until no pair is a piece;
//   3. emit each symbol's token; a symbol that is no token falls back to its bytes' <0xXX>
//      tokens, or to the unknown token when the vocabulary lacks byte tokens. Merging may pass
//      through Unused pieces; those are split back into the parts they were merged from.
// Pieces of type Normal, UserDefined and Unused take part in merges; control, unknown and byte
// tokens never come out of step 2.
//
// Thread-safety: immutable after construction; encode/decode may run concurrently.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/tokenizer/tokenizer.h"

#include <array>
#include <memory>
#include <unordered_map>

namespace greta {

class SpmTokenizer final : public Tokenizer {
public:
  static constexpr std::string_view kModel = "llama";

  /// Checks tokenizer.ggml.pre (absent or "default"), then reads the vocabulary; the scores
  /// (tokenizer.ggml.scores) are required.
  static std::unique_ptr<SpmTokenizer> fromGguf(const GgufFile &gguf);

protected:
  void encodeFragment(std::string_view fragment, bool startsText,
                      std::vector<int32_t> &out) const override;

private:
  struct Piece {
    int32_t id = -1;
    float score = 0;
    bool unused = false; ///< may be merged through, never emitted
  };
  struct TextHash {
    using is_transparent = void;
    size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
  };
  using PieceTable = std::unordered_map<std::string, Piece, TextHash, std::equal_to<>>;

  SpmTokenizer(Vocabulary vocab, std::vector<std::string> decodedPieces, bool addsSpacePrefix);

  struct Workspace;
  /// Merges and emits the symbols of workspace.text[begin, end).
  void encodeSegment(Workspace &workspace, uint32_t begin, uint32_t end,
                     std::vector<int32_t> &out) const;
  /// Appends the tokens of text[start, start + length): its piece, the parts it was merged from
  /// (for an Unused piece), or its byte fallback.
  void emitSymbol(const Workspace &workspace, uint32_t start, uint32_t length,
                  std::vector<int32_t> &out) const;
  void emitFallback(std::string_view symbol, std::vector<int32_t> &out) const;

  PieceTable pieces_;
  /// True when no piece has a "▁" right after another character (true of SentencePiece models
  /// trained with split_by_whitespace, Llama-2's included). Then no merge crosses the start of a
  /// word, and each word merges on its own: small heaps instead of one the size of the prompt.
  bool mergesStayInWords_ = true;
  std::array<int32_t, 256> byteTokens_; ///< <0xXX> token per byte, -1 where the vocab has none
};

} // namespace greta
