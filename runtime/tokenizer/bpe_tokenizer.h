//===- bpe_tokenizer.h - Byte-level BPE (tokenizer.ggml.model = gpt2) ------===//
//
// Llama-3's tokenizer. Encoding a fragment of text:
//   1. split it into pieces with the pre-tokenizer's regex (tokenizer.ggml.pre picks it);
//   2. spell each piece's bytes in the GPT-2 byte-level alphabet; a piece that is itself a
//      normal token is that token (Hugging Face's ignore_merges, which llama-bpe sets);
//   3. otherwise start from one token per byte and repeatedly apply the lowest-ranked merge
//      among adjacent pairs (leftmost first on ties) until none applies.
// Merges run on token ids with a heap of candidate pairs, so a piece of n bytes costs
// O(n log n); long whitespace runs or unbroken words stay cheap.
//
// Thread-safety: immutable after construction; encode/decode may run concurrently.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/tokenizer/regex_splitter.h"
#include "runtime/tokenizer/tokenizer.h"

#include <array>
#include <memory>
#include <unordered_map>

namespace greta {

class BpeTokenizer final : public Tokenizer {
public:
  static constexpr std::string_view kModel = "gpt2";

  /// Checks tokenizer.ggml.pre against the supported pre-tokenizers (an Error lists them), then
  /// reads the vocabulary and merges (Errors name the merge index and text for malformed ones).
  static std::unique_ptr<BpeTokenizer> fromGguf(const GgufFile &gguf);

protected:
  void encodeFragment(std::string_view fragment, bool startsText,
                      std::vector<int32_t> &out) const override;

public:
  struct MergeRule {
    int32_t rank = 0;   ///< index in tokenizer.ggml.merges: lower merges first
    int32_t result = 0; ///< id of the merged token
  };
  using MergeTable = std::unordered_map<uint64_t, MergeRule>; ///< key: left id << 32 | right id

private:
  BpeTokenizer(Vocabulary vocab, std::vector<std::string> decodedPieces, RegexSplitter splitter,
               bool ignoreMerges, MergeTable merges, std::array<int32_t, 256> byteTokens);

  struct Workspace;
  void encodePiece(std::string_view piece, Workspace &workspace, std::vector<int32_t> &out) const;

  RegexSplitter splitter_;
  bool ignoreMerges_ = false; ///< a piece that is a normal token is taken whole
  MergeTable merges_;
  std::array<int32_t, 256> byteTokens_; ///< the single-byte token of each byte value
};

} // namespace greta
