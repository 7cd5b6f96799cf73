//===- jinja_lexer.h - A Jinja template's shape, for recognising it --------===//
//
// Chat templates are recognised, not executed (see chat_template.h). Two copies of one template
// differ in spelling that Jinja ignores: spaces inside tags, `-`/`+` whitespace markers, quote
// style, `a['b']` versus `a.b`, comments. lexJinja() reduces a template to pieces in which those
// differences are gone, so a template can be compared with a known one, or searched for known
// statements, by plain equality.
//
// Literal text between tags is kept after applying Jinja's whitespace rules as Hugging Face
// configures them (trim_blocks and lstrip_blocks on), because that text is output: a template
// whose only text is indentation around block tags leaves no text pieces at all.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace greta {

struct JinjaPiece {
  enum class Kind {
    Text,       ///< literal output; tokens holds the one text
    Expression, ///< {{ ... }}
    Statement,  ///< {% ... %}
  };
  Kind kind = Kind::Text;
  /// Tag tokens without whitespace. A string literal is its decoded value behind one leading
  /// `"` (no identifier or operator starts with one); `x['name']` reads as `x`, `.`, `name`.
  std::vector<std::string> tokens;

  bool operator==(const JinjaPiece &) const = default;
};

/// True when `token` (from JinjaPiece::tokens) is a string literal; its value is token.substr(1).
inline bool isJinjaString(std::string_view token) { return !token.empty() && token[0] == '"'; }

/// The pieces of `source`, or nullopt when it is not lexically valid Jinja (an unterminated tag,
/// comment or string). Comments are dropped.
std::optional<std::vector<JinjaPiece>> lexJinja(std::string_view source);

} // namespace greta
