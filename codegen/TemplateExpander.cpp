//===- TemplateExpander.cpp - Fills kernel templates ----------------------===//

#include "codegen/TemplateExpander.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVector.h"

namespace greta::codegen {
namespace {

struct EmbeddedTemplate {
  llvm::StringLiteral path;
  llvm::StringLiteral text;
};

/// Generated at build time from codegen/templates/ (cmake/EmbedTemplates.cmake).
const EmbeddedTemplate kTemplates[] = {
#include "codegen/TemplateSources.inc"
};

/// Includes nest at most this deep (a cycle is an error, not a hang).
constexpr int kMaxIncludeDepth = 8;

enum class TagKind { Value, Open, OpenInverted, Close, Include };

struct Tag {
  TagKind kind;
  llvm::StringRef name;
  size_t begin; ///< offset of "{{" (or of its line, when the tag stands alone)
  size_t end;   ///< offset after "}}" (or after its line's newline, when alone)
};

/// True when text[begin, end) is a tag alone on its line: only spaces before it on the line
/// and only spaces up to the newline after it.
bool isStandalone(llvm::StringRef text, size_t begin, size_t end, size_t &lineBegin,
                  size_t &lineEnd) {
  lineBegin = begin;
  while (lineBegin > 0 && text[lineBegin - 1] == ' ')
    --lineBegin;
  if (lineBegin > 0 && text[lineBegin - 1] != '\n')
    return false;
  size_t i = end;
  while (i < text.size() && text[i] == ' ')
    ++i;
  if (i < text.size() && text[i] != '\n')
    return false;
  lineEnd = i < text.size() ? i + 1 : i;
  return true;
}

class Expander {
public:
  Expander(const TemplateValues &values, std::string &error) : values_(values), error_(error) {}

  bool expand(llvm::StringRef path, std::string &out, int depth) {
    if (depth > kMaxIncludeDepth)
      return fail("template includes nest deeper than " + std::to_string(kMaxIncludeDepth) +
                  " at '" + path.str() + "' (a cycle?)");
    std::optional<llvm::StringRef> text = findTemplate(path);
    if (!text)
      return fail("no kernel template named '" + path.str() + "'");
    path_ = path.str();
    return expandRange(*text, 0, text->size(), out, depth);
  }

private:
  bool fail(const std::string &message) {
    if (error_.empty())
      error_ = message;
    return false;
  }

  /// Finds the next tag at or after `from`, before `limit`.
  std::optional<Tag> nextTag(llvm::StringRef text, size_t from, size_t limit) {
    size_t open = text.find("{{", from);
    if (open == llvm::StringRef::npos || open >= limit)
      return std::nullopt;
    size_t close = text.find("}}", open + 2);
    if (close == llvm::StringRef::npos || close + 2 > limit) {
      fail("template '" + path_ + "': '{{' without '}}'");
      return std::nullopt;
    }
    llvm::StringRef body = text.slice(open + 2, close).trim();
    Tag tag{TagKind::Value, body, open, close + 2};
    if (body.consume_front("#"))
      tag.kind = TagKind::Open;
    else if (body.consume_front("^"))
      tag.kind = TagKind::OpenInverted;
    else if (body.consume_front("/"))
      tag.kind = TagKind::Close;
    else if (body.consume_front(">"))
      tag.kind = TagKind::Include;
    tag.name = body.trim();
    size_t lineBegin, lineEnd;
    if (tag.kind != TagKind::Value && isStandalone(text, tag.begin, tag.end, lineBegin, lineEnd)) {
      tag.begin = lineBegin;
      tag.end = lineEnd;
    }
    return tag;
  }

  /// Finds the `{{/name}}` that closes a section opened before `from`, skipping nested
  /// sections of the same name.
  std::optional<Tag> findClose(llvm::StringRef text, llvm::StringRef name, size_t from,
                               size_t limit) {
    int depth = 0;
    size_t at = from;
    while (std::optional<Tag> tag = nextTag(text, at, limit)) {
      at = tag->end;
      if (tag->name != name)
        continue;
      if (tag->kind == TagKind::Open || tag->kind == TagKind::OpenInverted)
        ++depth;
      else if (tag->kind == TagKind::Close && depth-- == 0)
        return tag;
    }
    fail("template '" + path_ + "': section '" + name.str() + "' is never closed");
    return std::nullopt;
  }

  bool expandRange(llvm::StringRef text, size_t begin, size_t end, std::string &out, int depth) {
    size_t at = begin;
    while (true) {
      std::optional<Tag> tag = nextTag(text, at, end);
      if (!tag) {
        if (!error_.empty())
          return false;
        out.append(text.data() + at, end - at);
        return true;
      }
      out.append(text.data() + at, tag->begin - at);
      switch (tag->kind) {
      case TagKind::Value: {
        auto it = values_.values.find(tag->name);
        if (it == values_.values.end())
          return fail("template '" + path_ + "': no value for '{{" + tag->name.str() + "}}'");
        out += it->second;
        at = tag->end;
        break;
      }
      case TagKind::Open:
      case TagKind::OpenInverted: {
        auto flag = values_.flags.find(tag->name);
        if (flag == values_.flags.end())
          return fail("template '" + path_ + "': no flag for section '" + tag->name.str() + "'");
        std::optional<Tag> close = findClose(text, tag->name, tag->end, end);
        if (!close)
          return false;
        bool include = flag->second == (tag->kind == TagKind::Open);
        if (include && !expandRange(text, tag->end, close->begin, out, depth))
          return false;
        at = close->end;
        break;
      }
      case TagKind::Close:
        return fail("template '" + path_ + "': '{{/" + tag->name.str() + "}}' closes nothing");
      case TagKind::Include: {
        std::string saved = path_;
        if (!expand(tag->name, out, depth + 1))
          return false;
        path_ = saved;
        at = tag->end;
        break;
      }
      }
    }
  }

  const TemplateValues &values_;
  std::string &error_;
  std::string path_;
};

} // namespace

std::optional<llvm::StringRef> findTemplate(llvm::StringRef path) {
  for (const EmbeddedTemplate &entry : kTemplates)
    if (entry.path == path)
      return llvm::StringRef(entry.text);
  return std::nullopt;
}

std::optional<std::string> expandTemplate(llvm::StringRef path, const TemplateValues &values,
                                          std::string &error) {
  error.clear();
  std::string out;
  Expander expander(values, error);
  if (!expander.expand(path, out, /*depth=*/0))
    return std::nullopt;
  return out;
}

} // namespace greta::codegen
