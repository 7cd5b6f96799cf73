#include "runtime/tokenizer/vocabulary.h"

#include "runtime/formats/gguf.h"
#include "runtime/support/error.h"

#include <cmath>
#include <limits>

namespace greta {
namespace {

constexpr std::string_view kTokensKey = "tokenizer.ggml.tokens";

bool isStringType(GgufValueType type) { return type == GgufValueType::String; }
bool isFloatType(GgufValueType type) {
  return type == GgufValueType::Float32 || type == GgufValueType::Float64;
}
bool isIntegerType(GgufValueType type) {
  switch (type) {
  case GgufValueType::UInt8:
  case GgufValueType::Int8:
  case GgufValueType::UInt16:
  case GgufValueType::Int16:
  case GgufValueType::UInt32:
  case GgufValueType::Int32:
  case GgufValueType::UInt64:
  case GgufValueType::Int64:
    return true;
  default:
    return false;
  }
}

/// The array stored under `key` whose element type `accepts` takes, or null when the key is
/// absent. `expected` names the accepted element types in the message.
const GgufArray *findArray(const GgufFile &gguf, std::string_view key,
                           bool (*accepts)(GgufValueType), std::string_view expected) {
  const GgufValue *value = gguf.find(key);
  if (!value)
    return nullptr;
  const GgufArray *array = value->array();
  if (!array)
    fail("{}: {} has type {}, expected an array of {}", gguf.path(), key, nameOf(value->type()),
         expected);
  if (!accepts(array->elementType))
    fail("{}: {} is an array of {}, expected an array of {}", gguf.path(), key,
         nameOf(array->elementType), expected);
  return array;
}

void requireTokenCount(const GgufFile &gguf, std::string_view key, const GgufArray &array,
                       size_t tokenCount) {
  if (array.elements.size() != tokenCount)
    fail("{}: {} has {} entries but {} has {}; they must be equal", gguf.path(), key,
         array.elements.size(), kTokensKey, tokenCount);
}

std::vector<std::string> readStrings(const GgufFile &gguf, std::string_view key,
                                     const GgufArray &array) {
  std::vector<std::string> strings;
  strings.reserve(array.elements.size());
  for (const GgufValue &element : array.elements) {
    const std::string *text = element.string();
    if (!text)
      fail("{}: {}[{}] is not a string", gguf.path(), key, strings.size());
    strings.push_back(*text);
  }
  return strings;
}

std::vector<TokenType> readTypes(const GgufFile &gguf, size_t tokenCount) {
  constexpr std::string_view key = "tokenizer.ggml.token_type";
  const GgufArray *array = findArray(gguf, key, isIntegerType, "integers");
  if (!array)
    return std::vector<TokenType>(tokenCount, TokenType::Normal);
  requireTokenCount(gguf, key, *array, tokenCount);
  std::vector<TokenType> types;
  types.reserve(tokenCount);
  for (const GgufValue &element : array->elements) {
    const int64_t type = element.asInt().value_or(-1);
    if (type < static_cast<int64_t>(TokenType::Undefined) ||
        type > static_cast<int64_t>(TokenType::Byte))
      fail("{}: {}[{}] = {} is not a token type (0..6)", gguf.path(), key, types.size(), type);
    types.push_back(static_cast<TokenType>(type));
  }
  return types;
}

std::vector<float> readScores(const GgufFile &gguf, size_t tokenCount) {
  constexpr std::string_view key = "tokenizer.ggml.scores";
  const GgufArray *array = findArray(gguf, key, isFloatType, "floats");
  if (!array)
    return {};
  requireTokenCount(gguf, key, *array, tokenCount);
  std::vector<float> scores;
  scores.reserve(tokenCount);
  for (const GgufValue &element : array->elements) {
    const double score = element.asDouble().value_or(std::nan(""));
    if (std::isnan(score))
      fail("{}: {}[{}] is NaN; scores must be ordered numbers", gguf.path(), key, scores.size());
    scores.push_back(static_cast<float>(score));
  }
  return scores;
}

/// A special-token id key: -1 (written by some converters for "none") reads as none.
int32_t readTokenId(const GgufFile &gguf, std::string_view key, size_t tokenCount) {
  const GgufValue *value = gguf.find(key);
  if (!value)
    return -1;
  const std::optional<int64_t> id = value->asInt();
  if (!value->isInteger() || !id)
    fail("{}: {} has type {}, expected an integer token id", gguf.path(), key,
         nameOf(value->type()));
  if (*id == -1)
    return -1;
  if (*id < 0 || static_cast<uint64_t>(*id) >= tokenCount)
    fail("{}: {} = {} is out of range (vocab size {})", gguf.path(), key, *id, tokenCount);
  return static_cast<int32_t>(*id);
}

} // namespace

std::string_view nameOf(TokenType type) {
  switch (type) {
  case TokenType::Undefined:
    return "Undefined";
  case TokenType::Normal:
    return "Normal";
  case TokenType::Unknown:
    return "Unknown";
  case TokenType::Control:
    return "Control";
  case TokenType::UserDefined:
    return "UserDefined";
  case TokenType::Unused:
    return "Unused";
  case TokenType::Byte:
    return "Byte";
  }
  return "?";
}

Vocabulary Vocabulary::fromGguf(const GgufFile &gguf) {
  Vocabulary vocab;
  vocab.source = gguf.path();
  vocab.model = gguf.requireString("tokenizer.ggml.model");
  vocab.pre = gguf.getString("tokenizer.ggml.pre");

  const GgufArray *tokens = findArray(gguf, kTokensKey, isStringType, "strings");
  if (!tokens)
    fail("{}: {} is missing; the file has no tokenizer", gguf.path(), kTokensKey);
  if (tokens->elements.empty())
    fail("{}: {} is empty", gguf.path(), kTokensKey);
  constexpr size_t kMaxTokens = std::numeric_limits<int32_t>::max();
  if (tokens->elements.size() > kMaxTokens)
    fail("{}: {} has {} entries, more than the limit {}", gguf.path(), kTokensKey,
         tokens->elements.size(), kMaxTokens);
  vocab.tokens = readStrings(gguf, kTokensKey, *tokens);
  const size_t count = vocab.tokens.size();
  vocab.types = readTypes(gguf, count);
  vocab.scores = readScores(gguf, count);
  constexpr std::string_view mergesKey = "tokenizer.ggml.merges";
  if (const GgufArray *merges = findArray(gguf, mergesKey, isStringType, "strings"))
    vocab.merges = readStrings(gguf, mergesKey, *merges);

  vocab.bos = readTokenId(gguf, "tokenizer.ggml.bos_token_id", count);
  vocab.eos = readTokenId(gguf, "tokenizer.ggml.eos_token_id", count);
  vocab.eot = readTokenId(gguf, "tokenizer.ggml.eot_token_id", count);
  vocab.unknown = readTokenId(gguf, "tokenizer.ggml.unknown_token_id", count);
  vocab.padding = readTokenId(gguf, "tokenizer.ggml.padding_token_id", count);
  vocab.addBos = gguf.getBool("tokenizer.ggml.add_bos_token");
  vocab.addEos = gguf.getBool("tokenizer.ggml.add_eos_token");
  vocab.addSpacePrefix = gguf.getBool("tokenizer.ggml.add_space_prefix");

  vocab.buildIndex();
  // Llama-3 files carry no eot_token_id; the chat turn ends with <|eot_id|>.
  if (vocab.eot < 0)
    vocab.eot = vocab.find("<|eot_id|>").value_or(-1);
  return vocab;
}

void Vocabulary::buildIndex() {
  idOfText_.clear();
  idOfText_.reserve(tokens.size());
  for (size_t id = 0; id < tokens.size(); ++id)
    idOfText_.emplace(tokens[id], static_cast<int32_t>(id)); // keeps the first (lowest) id
}

std::optional<int32_t> Vocabulary::find(std::string_view text) const {
  auto it = idOfText_.find(text);
  if (it == idOfText_.end())
    return std::nullopt;
  return it->second;
}

} // namespace greta
