//===- jinja_lexer.cpp - A Jinja template's shape, for recognising it ------===//
//
// Follows jinja2's lexer where it decides what is output (newline normalisation, the dropped
// trailing newline, `-`/`+` markers, trim_blocks, lstrip_blocks) and is deliberately loose
// everywhere else: it only has to make equal templates compare equal, never to run them.
//
//===----------------------------------------------------------------------===//
#include "runtime/tokenizer/jinja_lexer.h"

#include "runtime/tokenizer/unicode.h"

#include <array>
#include <cstdint>

namespace greta {
namespace {

using Kind = JinjaPiece::Kind;

struct TagSyntax {
  char second;           ///< the character after '{' that opens the tag
  std::string_view close;
  std::optional<Kind> kind; ///< nullopt for a comment
};

constexpr std::array kTags = {
    TagSyntax{'{', "}}", Kind::Expression},
    TagSyntax{'%', "%}", Kind::Statement},
    TagSyntax{'#', "#}", std::nullopt},
};

// Operators Jinja spells with two characters; everything else is lexed one character at a time.
constexpr std::array<std::string_view, 6> kTwoCharOperators = {"==", "!=", "<=", ">=", "//", "**"};

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }
bool isIdentStart(char c) { return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isIdentChar(char c) { return isIdentStart(c) || isDigit(c); }

bool isIdentifier(std::string_view s) {
  if (s.empty() || !isIdentStart(s[0]))
    return false;
  for (char c : s)
    if (!isIdentChar(c))
      return false;
  return true;
}

// jinja2 splits the source on \r\n, \r and \n and rejoins it with \n before lexing.
std::string normalizeNewlines(std::string_view source) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] != '\r') {
      out += source[i];
      continue;
    }
    out += '\n';
    if (i + 1 < source.size() && source[i + 1] == '\n')
      ++i;
  }
  return out;
}

/// Reads `digits` hex digits at `pos`; nullopt if they are not all there.
std::optional<uint32_t> readHex(std::string_view s, size_t pos, size_t digits) {
  if (pos + digits > s.size())
    return std::nullopt;
  uint32_t value = 0;
  for (size_t i = 0; i < digits; ++i) {
    char c = s[pos + i];
    uint32_t d = isDigit(c) ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                                      : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : 16;
    if (d == 16)
      return std::nullopt;
    value = value * 16 + d;
  }
  return value;
}

/// Decodes the string literal opening at `pos` into `out` (Jinja literals take Python's
/// escapes); returns the position after its closing quote, or npos when it is unterminated.
size_t lexString(std::string_view s, size_t pos, std::string &out) {
  const char quote = s[pos];
  for (size_t i = pos + 1; i < s.size(); ++i) {
    char c = s[i];
    if (c == quote)
      return i + 1;
    if (c != '\\' || i + 1 == s.size()) {
      out += c;
      continue;
    }
    char e = s[++i];
    switch (e) {
    case 'n': out += '\n'; break;
    case 't': out += '\t'; break;
    case 'r': out += '\r'; break;
    case 'a': out += '\a'; break;
    case 'b': out += '\b'; break;
    case 'f': out += '\f'; break;
    case 'v': out += '\v'; break;
    case '0': out += '\0'; break;
    case '\\': case '\'': case '"': out += e; break;
    case '\n': break; // a backslash-newline continues the literal
    case 'x': case 'u': case 'U': {
      size_t digits = e == 'x' ? 2 : e == 'u' ? 4 : 8;
      if (auto cp = readHex(s, i + 1, digits);
          cp && *cp <= 0x10FFFF && (*cp < 0xD800 || *cp > 0xDFFF)) {
        appendUtf8(out, *cp);
        i += digits;
        break;
      }
      [[fallthrough]];
    }
    default: // Python keeps unknown escapes as written
      out += '\\';
      out += e;
    }
  }
  return std::string_view::npos;
}

/// The tokens of one tag's body, or nullopt on an unterminated string.
std::optional<std::vector<std::string>> lexTokens(std::string_view body) {
  std::vector<std::string> tokens;
  size_t i = 0;
  while (i < body.size()) {
    char c = body[i];
    if (isSpace(c)) {
      ++i;
    } else if (c == '\'' || c == '"') {
      std::string value = "\"";
      i = lexString(body, i, value);
      if (i == std::string_view::npos)
        return std::nullopt;
      tokens.push_back(std::move(value));
    } else if (isIdentChar(c)) { // identifiers and numbers alike: runs of word characters
      size_t start = i;
      while (i < body.size() && (isIdentChar(body[i]) || (isDigit(c) && body[i] == '.')))
        ++i;
      tokens.emplace_back(body.substr(start, i - start));
    } else {
      size_t length = 1;
      for (std::string_view op : kTwoCharOperators)
        if (body.substr(i, 2) == op)
          length = 2;
      tokens.emplace_back(body.substr(i, length));
      i += length;
    }
  }
  // x['name'] and x.name are the same look-up; keep the dotted spelling. Only after something
  // that can be subscripted, so a list literal ['a'] stays a list.
  std::vector<std::string> out;
  for (size_t k = 0; k < tokens.size(); ++k) {
    bool subscript = tokens[k] == "[" && k + 2 < tokens.size() && tokens[k + 2] == "]" &&
                     isJinjaString(tokens[k + 1]) && isIdentifier(tokens[k + 1].substr(1)) &&
                     !out.empty() &&
                     (isIdentifier(out.back()) || out.back() == ")" || out.back() == "]");
    if (subscript) {
      out.emplace_back(".");
      out.push_back(tokens[k + 1].substr(1));
      k += 2;
    } else {
      out.push_back(std::move(tokens[k]));
    }
  }
  return out;
}

/// Where the tag whose body starts at `pos` closes (skipping string literals), or npos.
size_t findClose(std::string_view s, size_t pos, const TagSyntax &tag) {
  if (!tag.kind)
    return s.find(tag.close, pos);
  for (size_t i = pos; i < s.size(); ++i) {
    if (s[i] == '\'' || s[i] == '"') {
      std::string ignored;
      i = lexString(s, i, ignored);
      if (i == std::string_view::npos)
        return i;
      --i;
    } else if (s.substr(i, 2) == tag.close) {
      return i;
    }
  }
  return std::string_view::npos;
}

void appendText(std::vector<JinjaPiece> &pieces, std::string_view text) {
  if (text.empty())
    return;
  if (!pieces.empty() && pieces.back().kind == Kind::Text)
    pieces.back().tokens[0] += text; // text on both sides of a dropped comment
  else
    pieces.push_back({Kind::Text, {std::string(text)}});
}

} // namespace

std::optional<std::vector<JinjaPiece>> lexJinja(std::string_view rawSource) {
  std::string normalized = normalizeNewlines(rawSource);
  std::string_view source = normalized;
  if (source.ends_with('\n')) // keep_trailing_newline is off by default
    source.remove_suffix(1);

  std::vector<JinjaPiece> pieces;
  size_t pos = 0;
  bool lineStart = true; // whether the previous tag's match ended a line (or nothing precedes)
  while (pos <= source.size()) {
    size_t open = source.find('{', pos);
    const TagSyntax *tag = nullptr;
    for (; open != std::string_view::npos; open = source.find('{', open + 1)) {
      for (const TagSyntax &candidate : kTags)
        if (open + 1 < source.size() && source[open + 1] == candidate.second)
          tag = &candidate;
      if (tag)
        break;
    }
    if (!tag) {
      appendText(pieces, source.substr(pos));
      break;
    }

    std::string_view text = source.substr(pos, open - pos);
    size_t body = open + 2;
    char marker = body < source.size() ? source[body] : '\0';
    if (marker == '-') {
      while (!text.empty() && isSpace(text.back()))
        text.remove_suffix(1);
      ++body;
    } else if (marker == '+') {
      ++body;
    } else if (tag->kind != Kind::Expression) {
      // lstrip_blocks: spaces and tabs between a line's start and a block tag are not output.
      size_t lineBegin = text.rfind('\n');
      lineBegin = lineBegin == std::string_view::npos ? 0 : lineBegin + 1;
      bool onlySpaces = lineBegin < text.size();
      for (size_t i = lineBegin; i < text.size(); ++i)
        onlySpaces = onlySpaces && isSpace(text[i]);
      if (onlySpaces && (lineBegin > 0 || lineStart))
        text = text.substr(0, lineBegin);
    }
    appendText(pieces, text);

    size_t close = findClose(source, body, *tag);
    if (close == std::string_view::npos)
      return std::nullopt;
    size_t bodyEnd = close;
    bool trimAfter = false, keepNewline = false;
    if (bodyEnd > body && source[bodyEnd - 1] == '-') {
      trimAfter = true;
      --bodyEnd;
    } else if (bodyEnd > body && tag->kind != Kind::Expression && source[bodyEnd - 1] == '+') {
      keepNewline = true;
      --bodyEnd;
    }
    pos = close + 2;
    if (trimAfter) {
      while (pos < source.size() && isSpace(source[pos]))
        ++pos;
    } else if (tag->kind != Kind::Expression && !keepNewline && pos < source.size() &&
               source[pos] == '\n') {
      ++pos; // trim_blocks: the newline after a block tag is not output
    }
    lineStart = source[pos - 1] == '\n';

    if (tag->kind) {
      auto tokens = lexTokens(source.substr(body, bodyEnd - body));
      if (!tokens)
        return std::nullopt;
      pieces.push_back({*tag->kind, std::move(*tokens)});
    }
    if (pos == source.size())
      break;
  }
  return pieces;
}

} // namespace greta
