//===- tokenizer_metadata.h - The tokenizer.* keys of a synthetic model ----===//
//
// A model file carries its tokenizer as `tokenizer.*` metadata. greta-synth either copies every
// such key from a vocabulary GGUF (for example llama.cpp's vocab-only files), or builds a small,
// self-contained Llama-3-style tokenizer (see synthetic_vocab.cpp).
//
// Thread-safety: plain values; the functions may run concurrently.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/formats/gguf.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace greta::synth {

struct TokenizerMetadata {
  std::vector<std::pair<std::string, GgufValue>> entries; ///< tokenizer.* keys in file order
  uint32_t vocabSize = 0;                                 ///< length of tokenizer.ggml.tokens
};

/// Every tokenizer.* key of the GGUF at `path`, in its order. Error if it has no token list.
TokenizerMetadata copyTokenizer(const std::string &path);

/// The synthetic gpt2 / llama-bpe tokenizer, padded with unused filler tokens to `vocabSize`
/// (0: no padding). Error if `vocabSize` is smaller than the tokenizer's own token count.
TokenizerMetadata syntheticTokenizer(uint32_t vocabSize);

} // namespace greta::synth
