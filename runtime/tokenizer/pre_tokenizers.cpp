#include "runtime/tokenizer/pre_tokenizers.h"

namespace greta {
namespace {

// Llama-3: contractions, letter runs with one leading non-letter, numbers of 1-3 digits,
// punctuation runs with their newlines, newline runs, and whitespace that leaves the last space
// to the word after it.
constexpr std::string_view kLlama3SplitPattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

constexpr PreTokenizerSpec kPreTokenizers[] = {
    {"llama-bpe", kLlama3SplitPattern, /*ignoreMerges=*/true},
};

} // namespace

std::span<const PreTokenizerSpec> preTokenizers() { return kPreTokenizers; }

const PreTokenizerSpec *findPreTokenizer(std::string_view name) {
  for (const PreTokenizerSpec &spec : kPreTokenizers)
    if (spec.name == name)
      return &spec;
  return nullptr;
}

std::string supportedPreTokenizerNames() {
  std::string names;
  for (const PreTokenizerSpec &spec : kPreTokenizers)
    names += (names.empty() ? "" : ", ") + std::string(spec.name);
  return names;
}

} // namespace greta
