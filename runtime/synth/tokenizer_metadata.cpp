#include "runtime/synth/tokenizer_metadata.h"

#include "runtime/support/error.h"

#include <limits>

namespace greta::synth {
namespace {

constexpr std::string_view kTokenizerPrefix = "tokenizer.";
constexpr std::string_view kTokensKey = "tokenizer.ggml.tokens";

} // namespace

TokenizerMetadata copyTokenizer(const std::string &path) {
  const GgufFile vocab = GgufFile::open(path);
  TokenizerMetadata result;
  for (const auto &[key, value] : vocab.metadata())
    if (key.starts_with(kTokenizerPrefix))
      result.entries.emplace_back(key, value);

  const GgufValue *tokens = vocab.find(kTokensKey);
  if (tokens == nullptr || tokens->array() == nullptr)
    fail("{}: vocabulary has no array '{}'", path, kTokensKey);
  const size_t count = tokens->array()->elements.size();
  if (count == 0 || count > std::numeric_limits<uint32_t>::max())
    fail("{}: '{}' has {} tokens, outside 1..{}", path, kTokensKey, count,
         std::numeric_limits<uint32_t>::max());
  result.vocabSize = static_cast<uint32_t>(count);
  return result;
}

} // namespace greta::synth
