//===- tokenizer_fuzzer.cpp - libFuzzer target for encode and decode ------===//
//
// Runs the real Llama-3 (byte-level BPE) and Llama-2 (SentencePiece) vocabularies from the shared
// testdata over arbitrary input. The first byte picks the vocabulary, the direction and the
// options; the rest is the text to encode or the ids to decode. Checked:
//   encode: every id is inside the vocabulary, and decode(encode(x)) == x as tokenizer.h
//           promises (BOS's text first with addBos; for SentencePiece, inputs without a literal
//           U+2581, which decodes as a space);
//   decode: an id outside [0, vocabSize()) is a greta::Error, and only then.
// Crashes, sanitizer reports, other exception types and broken promises are bugs.
//
//===----------------------------------------------------------------------===//
#include "runtime/formats/gguf.h"
#include "runtime/support/error.h"
#include "runtime/tokenizer/tokenizer.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace {

using greta::Tokenizer;

// Bits of the first input byte.
constexpr uint8_t kUseSpm = 1 << 0;          // Llama-2 SentencePiece instead of Llama-3 BPE
constexpr uint8_t kDecode = 1 << 1;          // the rest is ids to decode, not text to encode
constexpr uint8_t kParseSpecial = 1 << 2;    // encode: EncodeOptions::parseSpecial
constexpr uint8_t kAddBos = 1 << 3;          // encode: EncodeOptions::addBos
constexpr uint8_t kHideControl = 1 << 4;     // decode: renderControl = false
constexpr uint8_t kKeepSpacePrefix = 1 << 5; // decode: removeSpacePrefix = false
constexpr uint8_t kRawIds = 1 << 6;          // decode: ids are raw little-endian int32s

/// Ids outside the vocabulary this far either side, when ids are drawn near its range.
constexpr int32_t kOutOfRangeMargin = 8;

Tokenizer *gBpe = nullptr;
Tokenizer *gSpm = nullptr;

Tokenizer *load(const char *relativePath) {
  const std::string path = std::string(GRETA_SHARED_TESTDATA) + "/" + relativePath;
  try {
    return Tokenizer::fromGguf(greta::GgufFile::open(path)).release();
  } catch (const greta::Error &error) {
    std::fprintf(stderr, "tokenizer_fuzzer: cannot load %s: %s\n", path.c_str(), error.what());
    std::exit(1);
  }
}

[[noreturn]] void broken(const char *what, std::string_view input) {
  std::fprintf(stderr, "tokenizer_fuzzer: %s (input of %zu bytes)\n", what, input.size());
  std::abort();
}

void fuzzEncode(const Tokenizer &tok, uint8_t flags, std::string_view text) {
  greta::EncodeOptions options;
  options.parseSpecial = flags & kParseSpecial;
  options.addBos = flags & kAddBos;
  const std::vector<int32_t> ids = tok.encode(text, options); // both vocabularies have BOS
  for (int32_t id : ids)
    if (id < 0 || id >= tok.vocabSize())
      broken("encode produced an id outside the vocabulary", text);

  const bool spm = tok.model() == "llama";
  // SentencePiece spells spaces U+2581, so a literal one comes back as a space.
  if (spm && text.find("\xE2\x96\x81") != std::string_view::npos)
    return;
  std::string expected = options.addBos ? tok.tokenText(tok.bos()) : std::string();
  expected += text;
  if (tok.decode(ids) != expected)
    broken("decode(encode(x)) != x", text);
}

void fuzzDecode(const Tokenizer &tok, uint8_t flags, std::string_view bytes) {
  std::vector<int32_t> ids;
  bool anyOutOfRange = false;
  if (flags & kRawIds) {
    for (size_t i = 0; i + 4 <= bytes.size(); i += 4) {
      int32_t id;
      std::memcpy(&id, bytes.data() + i, sizeof id);
      ids.push_back(id);
    }
  } else {
    // Three bytes per id, folded onto the vocabulary plus a margin either side, so most ids are
    // valid and the ends of the range are hit.
    const uint32_t span = static_cast<uint32_t>(tok.vocabSize()) + 2 * kOutOfRangeMargin;
    for (size_t i = 0; i + 3 <= bytes.size(); i += 3) {
      const uint32_t v = uint8_t(bytes[i]) | uint8_t(bytes[i + 1]) << 8 | uint8_t(bytes[i + 2]) << 16;
      ids.push_back(static_cast<int32_t>(v % span) - kOutOfRangeMargin);
    }
  }
  for (int32_t id : ids)
    anyOutOfRange |= id < 0 || id >= tok.vocabSize();

  greta::DecodeOptions options;
  options.renderControl = !(flags & kHideControl);
  options.removeSpacePrefix = !(flags & kKeepSpacePrefix);
  try {
    std::string text = tok.decode(ids, options);
    if (anyOutOfRange)
      broken("decode accepted an out-of-range id", bytes);
    (void)text;
  } catch (const greta::Error &) {
    if (!anyOutOfRange)
      broken("decode refused ids that are all in range", bytes);
  }
  // The per-token accessors check the range too.
  for (int32_t id : ids) {
    const bool inRange = id >= 0 && id < tok.vocabSize();
    try {
      (void)tok.tokenText(id);
      (void)tok.isControl(id);
      if (!inRange)
        broken("tokenText/isControl accepted an out-of-range id", bytes);
    } catch (const greta::Error &) {
      if (inRange)
        broken("tokenText/isControl refused an in-range id", bytes);
    }
  }
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  gBpe = load("llama3-tokenizer/llama3-vocab.gguf");
  gSpm = load("llama-spm/ggml-vocab-llama-spm.gguf");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  const uint8_t flags = data[0];
  const std::string_view rest(reinterpret_cast<const char *>(data) + 1, size - 1);
  const Tokenizer &tok = (flags & kUseSpm) ? *gSpm : *gBpe;
  if (flags & kDecode)
    fuzzDecode(tok, flags, rest);
  else
    fuzzEncode(tok, flags, rest);
  return 0;
}
