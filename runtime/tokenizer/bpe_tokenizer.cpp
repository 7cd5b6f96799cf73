#include "runtime/tokenizer/bpe_tokenizer.h"

#include "runtime/formats/gguf.h"
#include "runtime/support/error.h"
#include "runtime/tokenizer/pre_tokenizers.h"
#include "runtime/tokenizer/unicode.h"

#include <algorithm>

namespace greta {
namespace {

const PreTokenizerSpec &requirePreTokenizer(const GgufFile &gguf) {
  const std::optional<std::string> pre = gguf.getString("tokenizer.ggml.pre");
  if (!pre)
    fail("{}: tokenizer.ggml.pre is missing; a gpt2 tokenizer needs it to pick its pre-tokenizer "
         "(supported: {})",
         gguf.path(), supportedPreTokenizerNames());
  if (const PreTokenizerSpec *spec = findPreTokenizer(*pre))
    return *spec;
  fail("{}: tokenizer.ggml.pre = '{}' is not supported for tokenizer.ggml.model = gpt2 "
       "(supported: {})",
       gguf.path(), *pre, supportedPreTokenizerNames());
}

uint64_t pairKey(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

/// What a byte-level token stands for: each code point of its text mapped back to its byte.
/// Special tokens are stored as plain text and stand for themselves; a code point outside the
/// byte alphabet (found in no Llama-3 token) is kept as its UTF-8 so nothing is lost.
std::string decodeBytes(const std::string &text, TokenType type) {
  if (SpecialTokens::isSpecialType(type))
    return text;
  std::string bytes;
  bytes.reserve(text.size());
  std::string_view rest = text;
  while (!rest.empty()) {
    const size_t length = utf8SequenceLength(rest);
    if (length == 0) { // an ill-formed byte in the vocabulary itself: kept as is
      bytes.push_back(rest[0]);
      rest.remove_prefix(1);
      continue;
    }
    const std::string_view sequence = rest.substr(0, length);
    rest.remove_prefix(length);
    if (std::optional<uint8_t> byte = byteLevelByte(decodeUtf8(sequence)))
      bytes.push_back(static_cast<char>(*byte));
    else
      bytes.append(sequence);
  }
  return bytes;
}

std::string describeMerge(const Vocabulary &vocab, size_t index) {
  return fmt::format("{}: tokenizer.ggml.merges[{}] = '{}'", vocab.source, index,
                     vocab.merges[index]);
}

BpeTokenizer::MergeTable parseMerges(const Vocabulary &vocab) {
  if (vocab.merges.empty())
    fail("{}: tokenizer.ggml.merges is missing or empty; a gpt2 tokenizer needs its merges",
         vocab.source);
  BpeTokenizer::MergeTable table;
  table.reserve(vocab.merges.size());
  std::string joined;
  for (size_t rank = 0; rank < vocab.merges.size(); ++rank) {
    const std::string_view merge = vocab.merges[rank];
    // Byte-level tokens spell a space as 'Ġ', so the one space in a merge is the separator.
    const size_t space = merge.find(' ');
    if (space == std::string_view::npos || space == 0 || space + 1 == merge.size() ||
        merge.find(' ', space + 1) != std::string_view::npos)
      fail("{} is not two tokens separated by one space", describeMerge(vocab, rank));
    const std::string_view left = merge.substr(0, space), right = merge.substr(space + 1);
    const std::optional<int32_t> leftId = vocab.find(left), rightId = vocab.find(right);
    if (!leftId || !rightId)
      fail("{}: '{}' is not in tokenizer.ggml.tokens", describeMerge(vocab, rank),
           leftId ? right : left);
    joined.assign(left).append(right);
    const std::optional<int32_t> result = vocab.find(joined);
    if (!result)
      fail("{}: the merged token '{}' is not in tokenizer.ggml.tokens",
           describeMerge(vocab, rank), joined);
    // A repeated pair keeps its first (lowest) rank, the one that would win anyway.
    table.emplace(pairKey(*leftId, *rightId),
                  BpeTokenizer::MergeRule{static_cast<int32_t>(rank), *result});
  }
  return table;
}

std::array<int32_t, 256> findByteTokens(const Vocabulary &vocab) {
  std::array<int32_t, 256> ids{};
  std::string spelled;
  for (int byte = 0; byte < 256; ++byte) {
    spelled.clear();
    appendUtf8(spelled, byteLevelSymbol(static_cast<uint8_t>(byte)));
    const std::optional<int32_t> id = vocab.find(spelled);
    if (!id)
      fail("{}: tokenizer.ggml.tokens has no token '{}' for byte 0x{:02X}; a byte-level "
           "vocabulary needs one for each of the 256 bytes",
           vocab.source, spelled, byte);
    ids[byte] = *id;
  }
  return ids;
}

} // namespace

/// Scratch space reused across the pieces of one fragment.
struct BpeTokenizer::Workspace {
  struct Symbol {
    int32_t id;   ///< -1 once merged into its left neighbour
    int32_t prev; ///< index of the left neighbour, -1 at the start
    int32_t next; ///< index of the right neighbour, -1 at the end
  };
  struct Candidate {
    int32_t rank;
    int32_t left; ///< index of the left symbol; also its position, for leftmost-first ties
    int32_t leftId, rightId, result;
  };
  // std::push_heap builds a max-heap; this order puts the lowest rank, then leftmost, on top.
  static bool comesAfter(const Candidate &a, const Candidate &b) {
    return a.rank != b.rank ? a.rank > b.rank : a.left > b.left;
  }
  std::vector<std::string_view> pieces;
  std::vector<Symbol> symbols;
  std::vector<Candidate> heap;
  std::string spelled;
};

std::unique_ptr<BpeTokenizer> BpeTokenizer::fromGguf(const GgufFile &gguf) {
  const PreTokenizerSpec &pre = requirePreTokenizer(gguf);
  Vocabulary vocab = Vocabulary::fromGguf(gguf);
  MergeTable merges = parseMerges(vocab);
  vocab.merges = {}; // parsed into the table; the strings are no longer needed
  std::array<int32_t, 256> byteTokens = findByteTokens(vocab);
  std::vector<std::string> pieces;
  pieces.reserve(vocab.tokens.size());
  for (int32_t id = 0; id < vocab.size(); ++id)
    pieces.push_back(decodeBytes(vocab.tokens[id], vocab.types[id]));
  return std::unique_ptr<BpeTokenizer>(
      new BpeTokenizer(std::move(vocab), std::move(pieces), RegexSplitter(pre.splitPattern),
                       pre.ignoreMerges, std::move(merges), byteTokens));
}

BpeTokenizer::BpeTokenizer(Vocabulary vocab, std::vector<std::string> decodedPieces,
                           RegexSplitter splitter, bool ignoreMerges, MergeTable merges,
                           std::array<int32_t, 256> byteTokens)
    : Tokenizer(std::move(vocab), std::move(decodedPieces), /*addsSpacePrefix=*/false),
      splitter_(std::move(splitter)), ignoreMerges_(ignoreMerges), merges_(std::move(merges)),
      byteTokens_(byteTokens) {}

void BpeTokenizer::encodeFragment(std::string_view fragment, bool /*startsText*/,
                                  std::vector<int32_t> &out) const {
  Workspace workspace;
  splitter_.split(fragment, workspace.pieces);
  for (std::string_view piece : workspace.pieces)
    encodePiece(piece, workspace, out);
}

void BpeTokenizer::encodePiece(std::string_view piece, Workspace &ws,
                               std::vector<int32_t> &out) const {
  if (piece.size() == 1) {
    out.push_back(byteTokens_[static_cast<uint8_t>(piece[0])]);
    return;
  }
  if (ignoreMerges_) {
    ws.spelled = byteLevelEncode(piece);
    const std::optional<int32_t> whole = vocab().find(ws.spelled);
    if (whole && vocab().types[*whole] == TokenType::Normal) {
      out.push_back(*whole);
      return;
    }
  }

  using Symbol = Workspace::Symbol;
  using Candidate = Workspace::Candidate;
  const auto count = static_cast<int32_t>(piece.size());
  ws.symbols.clear();
  for (int32_t i = 0; i < count; ++i)
    ws.symbols.push_back(Symbol{byteTokens_[static_cast<uint8_t>(piece[i])], i - 1,
                                i + 1 < count ? i + 1 : -1});
  ws.heap.clear();
  auto considerPair = [&](int32_t left) {
    const int32_t right = ws.symbols[left].next;
    if (right < 0)
      return;
    const int32_t leftId = ws.symbols[left].id, rightId = ws.symbols[right].id;
    auto rule = merges_.find(pairKey(leftId, rightId));
    if (rule == merges_.end())
      return;
    ws.heap.push_back(Candidate{rule->second.rank, left, leftId, rightId, rule->second.result});
    std::push_heap(ws.heap.begin(), ws.heap.end(), Workspace::comesAfter);
  };
  for (int32_t i = 0; i + 1 < count; ++i)
    considerPair(i);

  while (!ws.heap.empty()) {
    std::pop_heap(ws.heap.begin(), ws.heap.end(), Workspace::comesAfter);
    const Candidate candidate = ws.heap.back();
    ws.heap.pop_back();
    // Candidates are not removed when a neighbour merges; one is stale once either side's id
    // changed (ids only grow into longer tokens, so an unchanged id means an unchanged symbol).
    Symbol &left = ws.symbols[candidate.left];
    if (left.id != candidate.leftId || left.next < 0)
      continue;
    Symbol &right = ws.symbols[left.next];
    if (right.id != candidate.rightId)
      continue;
    left.id = candidate.result;
    right.id = -1;
    left.next = right.next;
    if (right.next >= 0)
      ws.symbols[right.next].prev = candidate.left;
    if (left.prev >= 0)
      considerPair(left.prev);
    considerPair(candidate.left);
  }
  for (int32_t i = 0; i >= 0; i = ws.symbols[i].next)
    out.push_back(ws.symbols[i].id);
}

} // namespace greta
