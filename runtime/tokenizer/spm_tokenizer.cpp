#include "runtime/tokenizer/spm_tokenizer.h"

#include "runtime/formats/gguf.h"
#include "runtime/support/error.h"
#include "runtime/tokenizer/unicode.h"

#include <algorithm>
#include <charconv>

namespace greta {
namespace {

constexpr std::string_view kSpaceSymbol = "\xE2\x96\x81"; // U+2581 LOWER ONE EIGHTH BLOCK

void requireDefaultPre(const GgufFile &gguf) {
  const std::optional<std::string> pre = gguf.getString("tokenizer.ggml.pre");
  if (pre && *pre != "default")
    fail("{}: tokenizer.ggml.pre = '{}' is not supported for tokenizer.ggml.model = llama "
         "(supported: default, or no key)",
         gguf.path(), *pre);
}

/// The byte a "<0xXX>" byte-token text names, or nullopt for any other text.
std::optional<uint8_t> parseByteToken(std::string_view text) {
  if (text.size() != 6 || !text.starts_with("<0x") || text.back() != '>')
    return std::nullopt;
  unsigned value = 0;
  const char *first = text.data() + 3, *last = text.data() + 5;
  auto [end, error] = std::from_chars(first, last, value, 16);
  if (error != std::errc() || end != last)
    return std::nullopt;
  return static_cast<uint8_t>(value);
}

/// Offset of the first "▁" at or after `from` (at least 1) that follows a character other than
/// "▁", i.e. where a word starts inside `text`; npos if there is none.
size_t nextWordStart(std::string_view text, size_t from) {
  for (size_t at = text.find(kSpaceSymbol, from); at != std::string_view::npos;
       at = text.find(kSpaceSymbol, at + 1))
    if (!text.substr(0, at).ends_with(kSpaceSymbol))
      return at;
  return std::string_view::npos;
}

/// What a token stands for in output: "▁" is a space, <0xXX> its byte, specials their text.
std::string decodePiece(const std::string &text, TokenType type) {
  if (type == TokenType::Byte)
    if (std::optional<uint8_t> byte = parseByteToken(text))
      return std::string(1, static_cast<char>(*byte));
  if (SpecialTokens::isSpecialType(type))
    return text;
  std::string decoded;
  decoded.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    if (std::string_view(text).substr(pos).starts_with(kSpaceSymbol)) {
      decoded += ' ';
      pos += kSpaceSymbol.size();
    } else {
      decoded += text[pos++];
    }
  }
  return decoded;
}

} // namespace

/// Scratch space of one fragment.
struct SpmTokenizer::Workspace {
  struct Symbol {
    uint32_t start;  ///< byte offset in `text`
    uint32_t length; ///< bytes; 0 once merged into the left neighbour
    int32_t prev, next;
  };
  struct Candidate {
    float score;
    int32_t left;    ///< index of the left symbol; also its position, for leftmost-first ties
    uint32_t length; ///< bytes of the merged piece; stale when the two sides no longer sum to it
    bool unused;
  };
  // std::push_heap builds a max-heap: highest score on top, then the leftmost.
  static bool comesAfter(const Candidate &a, const Candidate &b) {
    return a.score != b.score ? a.score < b.score : a.left > b.left;
  }
  static uint64_t spanKey(uint32_t start, uint32_t length) {
    return (static_cast<uint64_t>(start) << 32) | length;
  }
  std::string text;
  std::vector<Symbol> symbols;
  std::vector<Candidate> heap;
  /// For symbols merged into an Unused piece: the byte length of the left part.
  std::unordered_map<uint64_t, uint32_t> unusedSplits;
};

std::unique_ptr<SpmTokenizer> SpmTokenizer::fromGguf(const GgufFile &gguf) {
  requireDefaultPre(gguf);
  Vocabulary vocab = Vocabulary::fromGguf(gguf);
  if (vocab.scores.empty())
    fail("{}: tokenizer.ggml.scores is missing; the llama (SentencePiece) tokenizer merges by "
         "score",
         gguf.path());
  std::vector<std::string> decoded;
  decoded.reserve(vocab.tokens.size());
  for (int32_t id = 0; id < vocab.size(); ++id)
    decoded.push_back(decodePiece(vocab.tokens[id], vocab.types[id]));
  const bool addsSpacePrefix = vocab.addSpacePrefix.value_or(true);
  return std::unique_ptr<SpmTokenizer>(
      new SpmTokenizer(std::move(vocab), std::move(decoded), addsSpacePrefix));
}

SpmTokenizer::SpmTokenizer(Vocabulary vocab, std::vector<std::string> decodedPieces,
                           bool addsSpacePrefix)
    : Tokenizer(std::move(vocab), std::move(decodedPieces), addsSpacePrefix) {
  byteTokens_.fill(-1);
  const Vocabulary &v = this->vocab();
  pieces_.reserve(v.tokens.size());
  for (int32_t id = 0; id < v.size(); ++id) {
    const TokenType type = v.types[id];
    if (type == TokenType::Byte) {
      const std::optional<uint8_t> byte = parseByteToken(v.tokens[id]);
      if (byte && byteTokens_[*byte] < 0)
        byteTokens_[*byte] = id;
    } else if (type == TokenType::Normal || type == TokenType::UserDefined ||
               type == TokenType::Unused) {
      // The first of duplicate texts wins, as in Vocabulary::find().
      pieces_.emplace(v.tokens[id], Piece{id, v.scores[id], type == TokenType::Unused});
      if (nextWordStart(v.tokens[id], 1) != std::string_view::npos)
        mergesStayInWords_ = false;
    }
  }
}

void SpmTokenizer::encodeFragment(std::string_view fragment, bool startsText,
                                  std::vector<int32_t> &out) const {
  Workspace ws;
  ws.text.reserve(fragment.size() + 16);
  if (startsText && addsSpacePrefix())
    ws.text += kSpaceSymbol;
  for (char c : fragment) {
    if (c == ' ')
      ws.text += kSpaceSymbol;
    else
      ws.text += c;
  }
  if (ws.text.size() > UINT32_MAX)
    fail("{}: cannot encode a fragment of {} bytes (limit {})", source(), ws.text.size(),
         UINT32_MAX);
  if (!mergesStayInWords_) {
    encodeSegment(ws, 0, static_cast<uint32_t>(ws.text.size()), out);
    return;
  }
  // Cut where each word starts: no piece spans such a cut.
  const std::string_view text = ws.text;
  uint32_t segmentStart = 0;
  for (size_t cut = nextWordStart(text, 1); cut != std::string_view::npos;
       cut = nextWordStart(text, cut + 1)) {
    encodeSegment(ws, segmentStart, static_cast<uint32_t>(cut), out);
    segmentStart = static_cast<uint32_t>(cut);
  }
  encodeSegment(ws, segmentStart, static_cast<uint32_t>(text.size()), out);
}

void SpmTokenizer::encodeSegment(Workspace &ws, uint32_t begin, uint32_t end,
                                 std::vector<int32_t> &out) const {
  using Symbol = Workspace::Symbol;
  using Candidate = Workspace::Candidate;
  const std::string_view text = ws.text;
  ws.symbols.clear();
  ws.heap.clear();
  ws.unusedSplits.clear();
  for (uint32_t pos = begin; pos < end;) {
    const auto length = static_cast<uint32_t>(
        std::max<size_t>(utf8SequenceLength(text.substr(pos, end - pos)), 1));
    const auto index = static_cast<int32_t>(ws.symbols.size());
    ws.symbols.push_back(Symbol{pos, length, index - 1, -1});
    if (index > 0)
      ws.symbols[index - 1].next = index;
    pos += length;
  }

  auto considerPair = [&](int32_t left) {
    const int32_t right = ws.symbols[left].next;
    if (right < 0)
      return;
    const uint32_t length = ws.symbols[left].length + ws.symbols[right].length;
    auto piece = pieces_.find(text.substr(ws.symbols[left].start, length));
    if (piece == pieces_.end())
      return;
    ws.heap.push_back(Candidate{piece->second.score, left, length, piece->second.unused});
    std::push_heap(ws.heap.begin(), ws.heap.end(), Workspace::comesAfter);
  };
  for (int32_t i = 0; i + 1 < static_cast<int32_t>(ws.symbols.size()); ++i)
    considerPair(i);

  while (!ws.heap.empty()) {
    std::pop_heap(ws.heap.begin(), ws.heap.end(), Workspace::comesAfter);
    const Candidate candidate = ws.heap.back();
    ws.heap.pop_back();
    // Symbols only grow, so a candidate is current exactly when its two sides still sum to it.
    Symbol &left = ws.symbols[candidate.left];
    if (left.length == 0 || left.next < 0)
      continue;
    Symbol &right = ws.symbols[left.next];
    if (left.length + right.length != candidate.length)
      continue;
    if (candidate.unused)
      ws.unusedSplits.emplace(Workspace::spanKey(left.start, candidate.length), left.length);
    left.length = candidate.length;
    right.length = 0;
    left.next = right.next;
    if (right.next >= 0)
      ws.symbols[right.next].prev = candidate.left;
    if (left.prev >= 0)
      considerPair(left.prev);
    considerPair(candidate.left);
  }
  for (int32_t i = ws.symbols.empty() ? -1 : 0; i >= 0; i = ws.symbols[i].next)
    emitSymbol(ws, ws.symbols[i].start, ws.symbols[i].length, out);
}

void SpmTokenizer::emitSymbol(const Workspace &ws, uint32_t start, uint32_t length,
                              std::vector<int32_t> &out) const {
  const std::string_view symbol = std::string_view(ws.text).substr(start, length);
  auto piece = pieces_.find(symbol);
  if (piece != pieces_.end() && !piece->second.unused) {
    out.push_back(piece->second.id);
    return;
  }
  auto split = ws.unusedSplits.find(Workspace::spanKey(start, length));
  if (split != ws.unusedSplits.end()) {
    emitSymbol(ws, start, split->second, out);
    emitSymbol(ws, start + split->second, length - split->second, out);
    return;
  }
  emitFallback(symbol, out);
}

void SpmTokenizer::emitFallback(std::string_view symbol, std::vector<int32_t> &out) const {
  const bool allBytesHaveTokens = std::all_of(symbol.begin(), symbol.end(), [&](char c) {
    return byteTokens_[static_cast<uint8_t>(c)] >= 0;
  });
  if (allBytesHaveTokens) {
    for (char c : symbol)
      out.push_back(byteTokens_[static_cast<uint8_t>(c)]);
    return;
  }
  if (vocab().unknown < 0) {
    std::string hex;
    for (char c : symbol)
      hex += fmt::format("{}{:02X}", hex.empty() ? "" : " ", static_cast<uint8_t>(c));
    fail("{}: cannot encode the character with bytes {}: no <0xXX> byte tokens cover it and "
         "tokenizer.ggml.unknown_token_id is not set",
         source(), hex);
  }
  out.push_back(vocab().unknown);
}

} // namespace greta
