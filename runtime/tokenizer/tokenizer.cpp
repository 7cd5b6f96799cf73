#include "runtime/tokenizer/tokenizer.h"

#include "runtime/formats/gguf.h"
#include "runtime/support/error.h"
#include "runtime/tokenizer/bpe_tokenizer.h"
#include "runtime/tokenizer/spm_tokenizer.h"

namespace greta {

std::unique_ptr<Tokenizer> Tokenizer::fromGguf(const GgufFile &gguf) {
  const std::string model = gguf.requireString("tokenizer.ggml.model");
  if (model == BpeTokenizer::kModel)
    return BpeTokenizer::fromGguf(gguf);
  if (model == SpmTokenizer::kModel)
    return SpmTokenizer::fromGguf(gguf);
  fail("{}: tokenizer.ggml.model = '{}' is not supported (supported: {}, {})", gguf.path(), model,
       BpeTokenizer::kModel, SpmTokenizer::kModel);
}

Tokenizer::Tokenizer(Vocabulary vocab, std::vector<std::string> decodedPieces,
                     bool addsSpacePrefix)
    : vocab_(std::move(vocab)), special_(vocab_), decodedPieces_(std::move(decodedPieces)),
      addsSpacePrefix_(addsSpacePrefix) {}

Tokenizer::~Tokenizer() = default;

std::vector<int32_t> Tokenizer::encode(std::string_view text, const EncodeOptions &options) const {
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 2); // English averages about 4 bytes per token
  if (options.addBos) {
    if (vocab_.bos < 0)
      fail("{}: BOS was asked for but tokenizer.ggml.bos_token_id is not set", vocab_.source);
    ids.push_back(vocab_.bos);
  }
  size_t pos = 0;
  bool startsText = true;
  while (pos < text.size()) {
    const std::optional<SpecialTokens::Match> special =
        special_.findNext(text, pos, options.parseSpecial);
    const size_t fragmentEnd = special ? special->offset : text.size();
    if (fragmentEnd > pos) {
      encodeFragment(text.substr(pos, fragmentEnd - pos), startsText, ids);
      startsText = false;
    }
    if (!special)
      break;
    ids.push_back(special->id);
    startsText = true;
    pos = special->offset + special->length;
  }
  return ids;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, const DecodeOptions &options) const {
  std::string text;
  const bool removePrefix = addsSpacePrefix_ && options.removeSpacePrefix;
  bool atTextStart = true; // where encode() would have prefixed a space
  for (size_t i = 0; i < ids.size(); ++i) {
    const int32_t id = ids[i];
    if (id < 0 || id >= vocabSize())
      fail("{}: cannot decode ids[{}] = {}: out of range (vocab size {})", vocab_.source, i, id,
           vocabSize());
    const TokenType type = vocab_.types[id];
    const std::string &piece = decodedPieces_[id];
    if (SpecialTokens::isSpecialType(type)) {
      if (type != TokenType::Control || options.renderControl)
        text += piece;
      atTextStart = true;
      continue;
    }
    if (removePrefix && atTextStart && !piece.empty()) {
      text.append(piece, piece[0] == ' ' ? 1 : 0);
    } else {
      text += piece;
    }
    if (!piece.empty())
      atTextStart = false;
  }
  return text;
}

void Tokenizer::checkId(int32_t id) const {
  if (id < 0 || id >= vocabSize())
    fail("{}: token id {} is out of range (vocab size {})", vocab_.source, id, vocabSize());
}

const std::string &Tokenizer::tokenText(int32_t id) const {
  checkId(id);
  return decodedPieces_[id];
}

TokenType Tokenizer::tokenType(int32_t id) const {
  checkId(id);
  return vocab_.types[id];
}

bool Tokenizer::isControl(int32_t id) const { return tokenType(id) == TokenType::Control; }

bool Tokenizer::addsBosByDefault() const {
  // llama.cpp's defaults when the key is absent: SentencePiece models want BOS, BPE ones do not.
  return vocab_.addBos.value_or(vocab_.model == SpmTokenizer::kModel);
}

} // namespace greta
