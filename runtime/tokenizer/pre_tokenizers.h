//===- pre_tokenizers.h - The BPE pre-tokenizers GRETA knows, by name ------===//
//
// llama.cpp's converter names a BPE model's pre-tokenizer in tokenizer.ggml.pre ("llama-bpe" for
// Llama-3) instead of storing its regex, so the name must map to the split pattern and options
// the original tokenizer.json used. Adding a model family means adding a row here (and vectors).
//
// Thread-safety: a constant table.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace greta {

struct PreTokenizerSpec {
  std::string_view name;         ///< the tokenizer.ggml.pre value
  std::string_view splitPattern; ///< Hugging Face's Split regex, verbatim (see RegexSplitter)
  bool ignoreMerges;             ///< Hugging Face's BPE ignore_merges
};

/// Every supported pre-tokenizer.
std::span<const PreTokenizerSpec> preTokenizers();
/// The pre-tokenizer named `name`, or null.
const PreTokenizerSpec *findPreTokenizer(std::string_view name);
/// "llama-bpe, ..." for messages.
std::string supportedPreTokenizerNames();

} // namespace greta
