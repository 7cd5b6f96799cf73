//===- tokenizer_vocab_fuzzer.cpp - libFuzzer target for vocabulary loading ===//
//
// Tokenizer metadata comes from downloaded GGUF files. Any byte string must either give a
// Tokenizer (and a ChatTemplate) or fail with greta::Error; a Tokenizer that loads must encode
// text into ids inside its vocabulary and decode every one of its ids. Crashes, hangs, sanitizer
// reports and other exception types are bugs. Seeds are small vocabularies written by
// make_fuzz_seeds.cpp.
//
//===----------------------------------------------------------------------===//
#include "runtime/formats/gguf.h"
#include "runtime/support/error.h"
#include "runtime/tokenizer/chat_template.h"
#include "runtime/tokenizer/tokenizer.h"

#include <cstdio>
#include <algorithm>
#include <cstdlib>
#include <memory>
#include <numeric>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace {

/// Text with spaces, digits, contractions, special-token look-alikes, several scripts and an
/// ill-formed byte, so every encoder path runs.
constexpr std::string_view kSample = "Hello world's 1234  tabs\t\n<|eot_id|><s></s><unk> "
                                     "caf\xc3\xa9 \xe4\xbd\xa0\xe5\xa5\xbd \xd0\xbf\xd1\x80\xd0\xb8 "
                                     "\xf0\x9f\xa6\x99 \xff end";

/// Ids decoded one by one at most (vocabularies may hold millions of tokens).
constexpr int32_t kMaxIdsDecoded = 4096;

[[noreturn]] void broken(const char *what) {
  std::fprintf(stderr, "tokenizer_vocab_fuzzer: %s\n", what);
  std::abort();
}

/// Ids inside the vocabulary always decode.
void decodeOrAbort(const greta::Tokenizer &tok, std::span<const int32_t> ids,
                   const greta::DecodeOptions &options) {
  try {
    (void)tok.decode(ids, options);
  } catch (const greta::Error &) {
    broken("decode refused ids inside the vocabulary");
  }
}

void exercise(const greta::Tokenizer &tok) {
  for (bool parseSpecial : {false, true}) {
    greta::EncodeOptions options;
    options.parseSpecial = parseSpecial;
    options.addBos = tok.bos() >= 0;
    std::vector<int32_t> ids;
    try {
      ids = tok.encode(kSample, options);
    } catch (const greta::Error &) {
      continue; // e.g. a SentencePiece vocabulary with neither byte pieces nor an unknown token
    }
    for (int32_t id : ids)
      if (id < 0 || id >= tok.vocabSize())
        broken("encode produced an id outside the vocabulary");
    decodeOrAbort(tok, ids, {});
  }
  std::vector<int32_t> every(std::min(tok.vocabSize(), kMaxIdsDecoded));
  std::iota(every.begin(), every.end(), 0);
  decodeOrAbort(tok, every, {});
  decodeOrAbort(tok, every, {.renderControl = false, .removeSpacePrefix = false});
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::span<const uint8_t> bytes(data, size);
  std::optional<greta::GgufFile> file;
  try {
    file = greta::GgufFile::parse(bytes, "fuzz.gguf");
  } catch (const greta::Error &) {
    return 0;
  }
  try {
    std::unique_ptr<greta::Tokenizer> tok = greta::Tokenizer::fromGguf(*file);
    exercise(*tok);
  } catch (const greta::Error &) {
  }
  try {
    (void)greta::ChatTemplate::fromGguf(*file);
  } catch (const greta::Error &) {
  }
  return 0;
}
