// The synthetic tokenizer: a miniature of Llama 3's, loadable by any gpt2 / llama-bpe tokenizer.
//
// Vocabulary layout (ids in order):
//   256 byte tokens, in GPT-2's byte-to-unicode form and order (as tiktoken-derived vocabularies,
//     Llama 3's included, begin);
//   one token per BPE merge, learned from kMergeTrainingText by counting adjacent pairs;
//   Llama 3's chat special tokens, as control tokens;
//   "[PAD<id>]" filler tokens of type unused up to the requested vocabulary size (as llama.cpp's
//     converter pads vocabularies).
// Everything is a pure function of the built-in text: the same tokenizer on every run.

#include "runtime/synth/tokenizer_metadata.h"

#include "runtime/support/error.h"
#include "runtime/synth/synthetic_vocab_text.h"

#include <fmt/format.h>

#include <array>
#include <cctype>
#include <map>
#include <set>

namespace greta::synth {
namespace {

// llama.cpp's token types (llama_token_type).
constexpr int32_t kTokenNormal = 1;
constexpr int32_t kTokenControl = 3;
constexpr int32_t kTokenUnused = 5;

constexpr int kByteTokens = 256;
// Enough merges for common English words to become single tokens; the text supports ~this many
// pairs seen at least kMinMergeCount times.
constexpr size_t kMaxMerges = 400;
constexpr int kMinMergeCount = 2;

constexpr std::string_view kBeginOfText = "<|begin_of_text|>";
constexpr std::string_view kEndOfText = "<|end_of_text|>";
constexpr std::string_view kStartHeader = "<|start_header_id|>";
constexpr std::string_view kEndHeader = "<|end_header_id|>";
constexpr std::string_view kEndOfTurn = "<|eot_id|>";
constexpr std::array kSpecialTokens = {kBeginOfText, kEndOfText, kStartHeader, kEndHeader,
                                       kEndOfTurn};

std::string utf8(uint32_t codePoint) {
  std::string out;
  if (codePoint < 0x80) {
    out += static_cast<char>(codePoint);
  } else if (codePoint < 0x800) {
    out += static_cast<char>(0xC0 | (codePoint >> 6));
    out += static_cast<char>(0x80 | (codePoint & 0x3F));
  } else {
    out += static_cast<char>(0xE0 | (codePoint >> 12));
    out += static_cast<char>(0x80 | ((codePoint >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (codePoint & 0x3F));
  }
  return out;
}

bool isPrintableLatin1(int byte) {
  return (byte >= '!' && byte <= '~') || (byte >= 0xA1 && byte <= 0xAC) ||
         (byte >= 0xAE && byte <= 0xFF);
}

/// GPT-2's reversible byte-to-unicode map: printable Latin-1 bytes stand for themselves; the
/// others (controls, space, soft hyphen) are moved to U+0100 onwards, in byte order. Returns the
/// bytes in vocabulary order (printable ones first) with their token strings.
std::vector<std::pair<uint8_t, std::string>> byteTokens() {
  std::vector<std::pair<uint8_t, std::string>> printable, moved;
  uint32_t next = 0x100;
  for (int byte = 0; byte < kByteTokens; ++byte) {
    if (isPrintableLatin1(byte))
      printable.emplace_back(byte, utf8(byte));
    else
      moved.emplace_back(byte, utf8(next++));
  }
  printable.insert(printable.end(), moved.begin(), moved.end());
  return printable;
}

/// Splits training text the way llama-bpe pre-tokenizes ASCII prose: a word keeps one leading
/// space, punctuation runs and whitespace runs stand alone. Merges never cross these pieces.
std::vector<std::string> pretokenize(std::string_view text) {
  std::vector<std::string> pieces;
  size_t i = 0;
  auto isLetter = [](char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; };
  auto isSpace = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  while (i < text.size()) {
    size_t start = i;
    if (text[i] == ' ' && i + 1 < text.size() && !isSpace(text[i + 1]))
      ++i; // the space belongs to the following word or punctuation
    if (i < text.size() && isLetter(text[i])) {
      while (i < text.size() && isLetter(text[i]))
        ++i;
    } else if (i < text.size() && !isSpace(text[i])) {
      while (i < text.size() && !isLetter(text[i]) && !isSpace(text[i]))
        ++i;
    } else {
      while (i < text.size() && isSpace(text[i]))
        ++i;
    }
    pieces.emplace_back(text.substr(start, i - start));
  }
  return pieces;
}

struct LearnedVocab {
  std::vector<std::string> tokens;
  std::vector<std::string> merges; ///< "left right", in rank order
};

/// Byte-level BPE training: repeatedly join the most frequent adjacent pair (ties: the pair of
/// smallest ids, so the result never depends on container order).
LearnedVocab learnMerges() {
  LearnedVocab vocab;
  std::array<int, kByteTokens> idOfByte{};
  for (const auto &[byte, text] : byteTokens()) {
    idOfByte[byte] = static_cast<int>(vocab.tokens.size());
    vocab.tokens.push_back(text);
  }
  std::map<std::string, int> idOfToken;
  for (size_t id = 0; id < vocab.tokens.size(); ++id)
    idOfToken.emplace(vocab.tokens[id], static_cast<int>(id));

  // Each distinct piece once, with its count.
  std::map<std::string, int> pieceCounts;
  for (const std::string &piece : pretokenize(kMergeTrainingText))
    ++pieceCounts[piece];
  std::vector<std::pair<std::vector<int>, int>> words;
  for (const auto &[piece, count] : pieceCounts) {
    std::vector<int> symbols;
    for (unsigned char byte : piece)
      symbols.push_back(idOfByte[byte]);
    words.emplace_back(std::move(symbols), count);
  }

  while (vocab.merges.size() < kMaxMerges) {
    std::map<std::pair<int, int>, int> pairCounts;
    for (const auto &[symbols, count] : words)
      for (size_t i = 0; i + 1 < symbols.size(); ++i)
        pairCounts[{symbols[i], symbols[i + 1]}] += count;
    auto best = pairCounts.end();
    for (auto it = pairCounts.begin(); it != pairCounts.end(); ++it)
      if (best == pairCounts.end() || it->second > best->second)
        best = it;
    if (best == pairCounts.end() || best->second < kMinMergeCount)
      break;

    const auto [left, right] = best->first;
    const std::string joined = vocab.tokens[left] + vocab.tokens[right];
    vocab.merges.push_back(vocab.tokens[left] + " " + vocab.tokens[right]);
    auto [slot, isNew] = idOfToken.emplace(joined, static_cast<int>(vocab.tokens.size()));
    if (isNew)
      vocab.tokens.push_back(joined);
    const int merged = slot->second;
    for (auto &[symbols, count] : words) {
      std::vector<int> out;
      for (size_t i = 0; i < symbols.size(); ++i) {
        if (i + 1 < symbols.size() && symbols[i] == left && symbols[i + 1] == right) {
          out.push_back(merged);
          ++i;
        } else {
          out.push_back(symbols[i]);
        }
      }
      symbols = std::move(out);
    }
  }
  return vocab;
}

} // namespace

TokenizerMetadata syntheticTokenizer(uint32_t vocabSize) {
  LearnedVocab learned = learnMerges();
  std::vector<std::string> tokens = std::move(learned.tokens);
  std::vector<int32_t> types(tokens.size(), kTokenNormal);
  const auto firstSpecial = static_cast<uint32_t>(tokens.size());
  for (std::string_view special : kSpecialTokens) {
    tokens.emplace_back(special);
    types.push_back(kTokenControl);
  }
  const auto naturalSize = static_cast<uint32_t>(tokens.size());
  if (vocabSize != 0 && vocabSize < naturalSize)
    fail("vocab-size {} is smaller than the synthetic tokenizer's {} tokens", vocabSize,
         naturalSize);
  for (uint32_t id = naturalSize; id < vocabSize; ++id) {
    tokens.push_back(fmt::format("[PAD{}]", id));
    types.push_back(kTokenUnused);
  }

  auto idOf = [&](std::string_view special) {
    for (size_t i = 0; i < kSpecialTokens.size(); ++i)
      if (kSpecialTokens[i] == special)
        return firstSpecial + static_cast<uint32_t>(i);
    fail("synthetic tokenizer: no special token {}", special);
  };

  TokenizerMetadata result;
  result.vocabSize = static_cast<uint32_t>(tokens.size());
  // Keys and order as llama.cpp's converter writes a Llama-3 tokenizer.
  result.entries.emplace_back("tokenizer.ggml.model", GgufValue::str("gpt2"));
  result.entries.emplace_back("tokenizer.ggml.pre", GgufValue::str("llama-bpe"));
  result.entries.emplace_back("tokenizer.ggml.tokens", GgufValue::strings(tokens));
  result.entries.emplace_back("tokenizer.ggml.token_type", GgufValue::i32s(types));
  result.entries.emplace_back("tokenizer.ggml.merges", GgufValue::strings(learned.merges));
  result.entries.emplace_back("tokenizer.ggml.bos_token_id", GgufValue::u32(idOf(kBeginOfText)));
  // End of a turn, as in the Instruct models (and the vocabulary in ../shared/testdata).
  result.entries.emplace_back("tokenizer.ggml.eos_token_id", GgufValue::u32(idOf(kEndOfTurn)));
  result.entries.emplace_back("tokenizer.ggml.add_bos_token", GgufValue::makeBool(true));
  result.entries.emplace_back("tokenizer.chat_template",
                              GgufValue::str(std::string(kLlama3ChatTemplate)));
  return result;
}

} // namespace greta::synth
