//===- chat_template.cpp - Llama-3 chat templates, rendered without Jinja --===//
//
// Recognition compares the template's shape (jinja_lexer.h) with what the family is known to
// contain. Llama-3's template is short, so it must match the published text as a whole (in
// either revision). Llama-3.1's is long and carries tool-calling branches that only run when
// tools are passed, which GRETA never does; it is recognised by the statements that produce the
// no-tools output, and rejected if it contains any literal text those statements don't account
// for.
//
//===----------------------------------------------------------------------===//
#include "runtime/tokenizer/chat_template.h"

#include "runtime/formats/gguf.h"
#include "runtime/support/error.h"
#include "runtime/tokenizer/jinja_lexer.h"
#include "runtime/tokenizer/unicode.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <ctime>
#include <optional>

namespace greta {
namespace {

constexpr std::string_view kTemplateKey = "tokenizer.chat_template";
constexpr std::string_view kSupported =
    "supported families: llama3 (Llama-3 Instruct), "
    "llama3.1 (Llama-3.1/3.2/3.3 Instruct, conversations without tools)";

constexpr std::string_view kHeaderStart = "<|start_header_id|>";
constexpr std::string_view kHeaderEnd = "<|end_header_id|>\n\n";
constexpr std::string_view kEndOfTurn = "<|eot_id|>";
constexpr std::string_view kGenerationPromptText = "<|start_header_id|>assistant<|end_header_id|>\n\n";
constexpr std::array<std::string_view, 3> kRoles = {"system", "user", "assistant"};

// Llama-3 Instruct's template (the text of Meta-Llama-3-8B-Instruct's tokenizer_config.json, as
// in the testdata), cut where later revisions wrapped the generation prompt in a condition.
constexpr std::string_view kLlama3Loop =
    "{% set loop_messages = messages %}{% for message in loop_messages %}"
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'"
    "+ message['content'] | trim + '<|eot_id|>' %}"
    "{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}"
    "{{ content }}{% endfor %}";
constexpr std::string_view kGenerationPrompt =
    "{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}";
constexpr std::string_view kGuardOpen = "{% if add_generation_prompt %}";
constexpr std::string_view kGuardClose = "{% endif %}";

// Statements that together produce Llama-3.1's output without tools: BOS; a system block of
// the knowledge-cutoff and date lines followed by the first message if it is a system message;
// every other message as in Llama-3. (The generation prompt, under its condition, is checked
// apart.)
constexpr std::array<std::string_view, 8> kLlama31Statements = {
    "{{ bos_token }}",
    "{% set system_message = messages[0]['content'] | trim %}",
    "{% set messages = messages[1:] %}",
    "{{ '<|start_header_id|>system<|end_header_id|>\n\n' }}",
    "{{ 'Cutting Knowledge Date: December 2023\n' }}",
    "{{ 'Today Date: ' + date_string + '\n\n' }}",
    "{{ system_message }}{{ '<|eot_id|>' }}",
    "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'"
    "+ message['content'] | trim + '<|eot_id|>' }}",
};
constexpr std::string_view kLlama31Preamble =
    "<|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\n"
    "Today Date: ";

using Pieces = std::vector<JinjaPiece>;

Pieces shapeOf(std::string_view knownSource) {
  auto pieces = lexJinja(knownSource);
  return pieces ? std::move(*pieces) : Pieces{};
}

bool containsRun(const Pieces &haystack, const Pieces &needle) {
  return !needle.empty() &&
         std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end()) !=
             haystack.end();
}

/// The statement `{% set NAME = <tokens...> %}` whose right-hand side has `rhs.size()` tokens
/// matching `rhs`, where an empty pattern token matches any string literal; returns the first
/// such literal, or nullopt.
std::optional<std::string> findAssignment(const Pieces &pieces, std::string_view name,
                                          const std::vector<std::string_view> &rhs) {
  for (const JinjaPiece &piece : pieces) {
    const auto &t = piece.tokens;
    if (piece.kind != JinjaPiece::Kind::Statement || t.size() != 3 + rhs.size() ||
        t[0] != "set" || t[1] != name || t[2] != "=")
      continue;
    std::optional<std::string> literal;
    bool matches = true;
    for (size_t i = 0; i < rhs.size() && matches; ++i) {
      const std::string &token = t[3 + i];
      if (rhs[i].empty() && isJinjaString(token) && !literal)
        literal = token.substr(1);
      else
        matches = !rhs[i].empty() && token == rhs[i];
    }
    if (matches && literal)
      return literal;
  }
  return std::nullopt;
}

/// The first bytes of a template, control characters escaped, to show in an error.
std::string excerpt(std::string_view source) {
  constexpr size_t kMaxBytes = 60;
  std::string out;
  for (char c : source.substr(0, kMaxBytes)) {
    if (c == '\n')
      out += "\\n";
    else if (static_cast<unsigned char>(c) < 0x20)
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
    else
      out += c;
  }
  return source.size() > kMaxBytes ? out + "..." : out;
}

/// Python's str.isspace() for one code point.
bool isPythonSpace(char32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 || cp == 0xA0 ||
         cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
         cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

std::string todayDate(const std::string &format, const std::string &label) {
  std::time_t now = std::time(nullptr);
  std::tm local{};
  char buffer[128];
  if (!localtime_r(&now, &local) || std::strftime(buffer, sizeof buffer, format.c_str(), &local) == 0)
    fail("{}: cannot format today's date with strftime_now format '{}'", label, format);
  return buffer;
}

/// Throws unless every role is one the Llama-3 templates render as a plain turn.
void checkRoles(std::span<const ChatMessage> messages, std::string_view label,
                std::string_view family) {
  for (size_t i = 0; i < messages.size(); ++i) {
    const std::string &role = messages[i].role;
    if (std::find(kRoles.begin(), kRoles.end(), role) == kRoles.end())
      fail("{}: chat message {} has role '{}'; the {} template renders roles system, user, "
           "assistant",
           label, i, role, family);
  }
}

} // namespace

std::string_view trimPythonWhitespace(std::string_view text) {
  // A well-formed sequence holding a Python space starts at `pos`: its length, else 0.
  auto spaceAt = [&](size_t pos) -> size_t {
    size_t length = utf8SequenceLength(text.substr(pos));
    return length && isPythonSpace(decodeUtf8(text.substr(pos, length))) ? length : 0;
  };
  size_t begin = 0;
  while (size_t length = begin < text.size() ? spaceAt(begin) : 0)
    begin += length;
  size_t end = text.size();
  while (end > begin) {
    // The last sequence starts at most 3 continuation bytes before `end`.
    size_t start = end - 1;
    while (start > begin && end - start < 4 &&
           (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80)
      --start;
    if (spaceAt(start) != end - start)
      break;
    end = start;
  }
  return text.substr(begin, end - begin);
}

ChatTemplate ChatTemplate::fromGguf(const GgufFile &gguf) {
  std::optional<std::string> source = gguf.getString(kTemplateKey);
  if (!source)
    fail("{}: key '{}' is missing: the model has no chat template", gguf.path(), kTemplateKey);
  constexpr std::string_view kBosKey = "tokenizer.ggml.bos_token_id";
  constexpr std::string_view kTokensKey = "tokenizer.ggml.tokens";
  uint64_t bos = gguf.requireUInt(kBosKey);
  const GgufValue *tokens = gguf.find(kTokensKey);
  if (!tokens || !tokens->array())
    fail("{}: key '{}' is missing or not an array; the chat template needs the BOS token's text",
         gguf.path(), kTokensKey);
  const auto &elements = tokens->array()->elements;
  if (bos >= elements.size())
    fail("{}: key '{}': value {} is not below the {} entries of '{}'", gguf.path(), kBosKey, bos,
         elements.size(), kTokensKey);
  const std::string *bosText = elements[bos].string();
  if (!bosText)
    fail("{}: key '{}': entry {} is not a string", gguf.path(), kTokensKey, bos);
  return fromSource(*source, *bosText, fmt::format("{}: key '{}'", gguf.path(), kTemplateKey));
}

ChatTemplate ChatTemplate::fromSource(std::string_view source, std::string bosToken,
                                      std::string label) {
  ChatTemplate result;
  result.bosToken_ = std::move(bosToken);
  result.label_ = std::move(label);

  std::optional<Pieces> shape = lexJinja(source);
  if (shape) {
    std::string loop(kLlama3Loop);
    if (*shape == shapeOf(loop + std::string(kGenerationPrompt))) {
      result.family_ = ChatTemplateFamily::Llama3;
      result.honoursGenerationFlag_ = false;
      return result;
    }
    if (*shape == shapeOf(loop + std::string(kGuardOpen) + std::string(kGenerationPrompt) +
                          std::string(kGuardClose))) {
      result.family_ = ChatTemplateFamily::Llama3;
      return result;
    }

    bool hasText = std::any_of(shape->begin(), shape->end(), [](const JinjaPiece &p) {
      return p.kind == JinjaPiece::Kind::Text;
    });
    bool hasAll = std::all_of(kLlama31Statements.begin(), kLlama31Statements.end(),
                              [&](std::string_view s) { return containsRun(*shape, shapeOf(s)); });
    // The generation prompt must sit inside the add_generation_prompt condition.
    bool guardedPrompt = containsRun(*shape, shapeOf(std::string(kGuardOpen) +
                                                     std::string(kGenerationPrompt)));
    // Llama-3.2 prints today's date where the renderer offers strftime_now (Hugging Face does);
    // 3.1 and 3.3 print a fixed default.
    auto format = findAssignment(*shape, "date_string", {"strftime_now", "(", "", ")"});
    auto fixedDate = findAssignment(*shape, "date_string", {""});
    if (!hasText && hasAll && guardedPrompt && (format || fixedDate)) {
      result.family_ = ChatTemplateFamily::Llama31;
      result.dateFormat_ = format.value_or("");
      result.dateString_ = fixedDate.value_or("");
      return result;
    }
  }
  fail("{}: unrecognised chat template ({} bytes, \"{}\"); GRETA renders known templates "
       "natively instead of running Jinja; {}",
       result.label_, source.size(), excerpt(source), kSupported);
}

std::string_view ChatTemplate::familyName() const {
  return family_ == ChatTemplateFamily::Llama3 ? "llama3" : "llama3.1";
}

void ChatTemplate::appendMessages(std::string &out, std::span<const ChatMessage> messages) const {
  for (const ChatMessage &message : messages) {
    out += kHeaderStart;
    out += message.role;
    out += kHeaderEnd;
    out += trimPythonWhitespace(message.content);
    out += kEndOfTurn;
  }
}

std::string ChatTemplate::systemPreamble(std::string_view systemContent) const {
  std::string date = dateFormat_.empty() ? dateString_ : todayDate(dateFormat_, label_);
  return fmt::format("{}{}\n\n{}{}", kLlama31Preamble, date, trimPythonWhitespace(systemContent),
                     kEndOfTurn);
}

std::string ChatTemplate::render(std::span<const ChatMessage> messages,
                                 bool addGenerationPrompt) const {
  if (messages.empty())
    fail("{}: cannot render an empty conversation", label_);
  checkRoles(messages, label_, familyName());

  std::string out = bosToken_;
  if (family_ == ChatTemplateFamily::Llama31) {
    // The template lifts a leading system message into its own system block.
    bool leadingSystem = messages.front().role == "system";
    out += systemPreamble(leadingSystem ? std::string_view(messages.front().content) : "");
    if (leadingSystem)
      messages = messages.subspan(1);
  }
  appendMessages(out, messages);
  if (addGenerationPrompt || !honoursGenerationFlag_)
    out += kGenerationPromptText;
  return out;
}

std::string ChatTemplate::renderContinuation(std::span<const ChatMessage> messages) const {
  checkRoles(messages, label_, familyName());
  std::string out;
  appendMessages(out, messages);
  out += kGenerationPromptText;
  return out;
}

} // namespace greta
