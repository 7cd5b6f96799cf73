#include "runtime/tokenizer/regex_splitter.h"

#include "runtime/support/error.h"
#include "runtime/tokenizer/unicode.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <string>

namespace greta {
namespace {

/// The Unicode White_Space property as the body of a character class.
constexpr std::string_view kWhiteSpaceClassBody =
    "\\x{09}-\\x{0D}\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}"
    "\\x{202F}\\x{205F}\\x{3000}";

/// Rewrites `\s` and `\S` to explicit White_Space classes so the split does not depend on the
/// PCRE2 version's idea of UCP whitespace. Understands escapes and plain `[...]` classes, which is
/// all split patterns use; `\S` inside a class has no class-body form and is rejected.
std::string withWhiteSpaceClasses(std::string_view pattern) {
  std::string out;
  out.reserve(pattern.size() * 2);
  bool inClass = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      const char escaped = pattern[++i];
      if (escaped == 's') {
        out += inClass ? std::string(kWhiteSpaceClassBody)
                       : "[" + std::string(kWhiteSpaceClassBody) + "]";
      } else if (escaped == 'S') {
        if (inClass)
          fail("split pattern: \\S inside a character class (at offset {}) is not supported", i);
        out += "[^" + std::string(kWhiteSpaceClassBody) + "]";
      } else {
        out += c;
        out += escaped;
      }
      continue;
    }
    if (!inClass && c == '[') {
      inClass = true;
      out += c;
      // A ']' right after '[' or '[^' is a literal, not the end of the class.
      if (i + 1 < pattern.size() && pattern[i + 1] == '^')
        out += pattern[++i];
      if (i + 1 < pattern.size() && pattern[i + 1] == ']')
        out += pattern[++i];
      continue;
    }
    if (inClass && c == ']')
      inClass = false;
    out += c;
  }
  return out;
}

std::string pcre2Message(int code) {
  PCRE2_UCHAR buffer[256];
  int length = pcre2_get_error_message(code, buffer, sizeof buffer);
  if (length < 0)
    return fmt::format("PCRE2 error {}", code);
  return std::string(reinterpret_cast<const char *>(buffer), static_cast<size_t>(length));
}

struct MatchDataDeleter {
  void operator()(pcre2_match_data *data) const { pcre2_match_data_free(data); }
};

} // namespace

struct RegexSplitter::Compiled {
  pcre2_code *code = nullptr;
  ~Compiled() { pcre2_code_free(code); }
};

RegexSplitter::RegexSplitter(std::string_view pattern) : compiled_(std::make_unique<Compiled>()) {
  const std::string rewritten = withWhiteSpaceClasses(pattern);
  int errorCode = 0;
  PCRE2_SIZE errorOffset = 0;
  compiled_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(rewritten.data()), rewritten.size(),
                                  PCRE2_UTF | PCRE2_UCP, &errorCode, &errorOffset, nullptr);
  if (!compiled_->code)
    fail("split pattern '{}': {} at offset {} of the rewritten pattern '{}'", pattern,
         pcre2Message(errorCode), errorOffset, rewritten);
  // The JIT is several times faster; without it (unsupported CPU) the interpreter is still right.
  (void)pcre2_jit_compile(compiled_->code, PCRE2_JIT_COMPLETE);
}

RegexSplitter::RegexSplitter(RegexSplitter &&) noexcept = default;
RegexSplitter &RegexSplitter::operator=(RegexSplitter &&) noexcept = default;
RegexSplitter::~RegexSplitter() = default;

void RegexSplitter::split(std::string_view text, std::vector<std::string_view> &pieces) const {
  size_t runStart = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t length = utf8SequenceLength(text.substr(pos));
    if (length > 0) {
      pos += length;
      continue;
    }
    splitWellFormed(text.substr(runStart, pos - runStart), pieces);
    pieces.push_back(text.substr(pos, 1));
    runStart = ++pos;
  }
  splitWellFormed(text.substr(runStart), pieces);
}

void RegexSplitter::splitWellFormed(std::string_view run,
                                    std::vector<std::string_view> &pieces) const {
  if (run.empty())
    return;
  std::unique_ptr<pcre2_match_data, MatchDataDeleter> matchData(
      pcre2_match_data_create_from_pattern(compiled_->code, nullptr));
  if (!matchData)
    fail("split pattern: out of memory allocating PCRE2 match data");
  const auto *subject = reinterpret_cast<PCRE2_SPTR>(run.data());
  size_t searchFrom = 0;
  size_t pieceStart = 0; // end of the last piece taken; text before a match is a piece too
  while (searchFrom < run.size()) {
    // The run was validated above; PCRE2's own check would rescan it on every call (quadratic).
    const int rc = pcre2_match(compiled_->code, subject, run.size(), searchFrom,
                               PCRE2_NO_UTF_CHECK, matchData.get(), nullptr);
    if (rc == PCRE2_ERROR_NOMATCH)
      break;
    if (rc < 0)
      fail("split pattern: matching at byte {} of a {}-byte run failed: {}", searchFrom,
           run.size(), pcre2Message(rc));
    const PCRE2_SIZE *ovector = pcre2_get_ovector_pointer(matchData.get());
    const size_t matchStart = ovector[0], matchEnd = ovector[1];
    if (matchEnd == matchStart) {
      // An empty match takes nothing; step over one character so the search progresses.
      searchFrom = matchStart + utf8SequenceLength(run.substr(matchStart));
      continue;
    }
    if (matchStart > pieceStart)
      pieces.push_back(run.substr(pieceStart, matchStart - pieceStart));
    pieces.push_back(run.substr(matchStart, matchEnd - matchStart));
    pieceStart = searchFrom = matchEnd;
  }
  if (pieceStart < run.size())
    pieces.push_back(run.substr(pieceStart));
}

} // namespace greta
