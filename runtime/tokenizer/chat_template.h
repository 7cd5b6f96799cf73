//===- chat_template.h - Llama-3 chat templates, rendered without Jinja ----===//
//
// A model's `tokenizer.chat_template` is a Jinja program. GRETA does not run Jinja: it recognises
// the official Llama-3 families by their structure and renders them natively, byte for byte as
// Hugging Face's apply_chat_template does (test/data/chat holds vectors rendered by jinja2).
// Anything else is refused with an Error naming the file and key and listing what is supported,
// so a wrong prompt format never reaches the model silently.
//
// Families:
//   llama3   - Llama-3 Instruct: per message `<|start_header_id|>ROLE<|end_header_id|>\n\n`,
//              the content trimmed, `<|eot_id|>`; BOS before the first message. The template as
//              first published appends the assistant header even when add_generation_prompt is
//              false; later revisions honour the flag. Both are reproduced as written.
//   llama3.1 - Llama-3.1/3.2/3.3 Instruct, for conversations without tools: always opens with a
//              system block carrying "Cutting Knowledge Date" and "Today Date" lines (the
//              template's default date, or today's date where the template asks strftime_now),
//              then the first message's content when it is a system message.
//
// Thread-safety: a ChatTemplate is immutable after construction; render() may be called from any
// thread (it reads the clock only for templates that print today's date).
//
//===----------------------------------------------------------------------===//
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace greta {

class GgufFile;

/// One turn of a conversation. `role` is system, user or assistant.
struct ChatMessage {
  std::string role;
  std::string content;
};

enum class ChatTemplateFamily {
  Llama3,  ///< Llama-3 Instruct
  Llama31, ///< Llama-3.1 / 3.2 / 3.3 Instruct (no tools)
};

class ChatTemplate {
public:
  /// Reads `tokenizer.chat_template` and the BOS token's text (`tokenizer.ggml.bos_token_id`
  /// into `tokenizer.ggml.tokens`). Throws greta::Error when a key is missing or the template is
  /// not a supported family.
  static ChatTemplate fromGguf(const GgufFile &gguf);
  /// Recognises `source` (Jinja text); `bosToken` is what the template's `bos_token` expands to.
  /// `label` names the origin in errors, e.g. "model.gguf: key 'tokenizer.chat_template'".
  static ChatTemplate fromSource(std::string_view source, std::string bosToken,
                                 std::string label);

  ChatTemplateFamily family() const { return family_; }
  /// "llama3" or "llama3.1".
  std::string_view familyName() const;
  /// False for the first published Llama-3 template, which appends the assistant header always.
  bool honoursGenerationFlag() const { return honoursGenerationFlag_; }

  /// The whole conversation as the template renders it, BOS included: the prompt for a fresh
  /// KV cache. With `addGenerationPrompt` it ends with the assistant header, ready for the reply.
  /// Throws greta::Error for an empty conversation or an unsupported role.
  std::string render(std::span<const ChatMessage> messages, bool addGenerationPrompt) const;

  /// The text that extends a conversation already in the KV cache by `messages` (normally one
  /// user message): their blocks plus the assistant header, with no BOS and no system preamble.
  /// The cache must already end with the previous reply's `<|eot_id|>` (feed the end-of-turn
  /// token the sampler stopped on). Then prefix + reply + `<|eot_id|>` + continuation equals
  /// render() of the longer conversation, up to the trimming render() applies to the reply.
  std::string renderContinuation(std::span<const ChatMessage> messages) const;

private:
  ChatTemplate() = default;
  void appendMessages(std::string &out, std::span<const ChatMessage> messages) const;
  std::string systemPreamble(std::string_view systemContent) const;

  ChatTemplateFamily family_ = ChatTemplateFamily::Llama3;
  bool honoursGenerationFlag_ = true;
  std::string bosToken_;
  std::string label_;
  // llama3.1 only: the date printed after "Today Date: ", or the strftime format to print today's.
  std::string dateString_;
  std::string dateFormat_;
};

/// Jinja's `trim` filter: Python's str.strip() with no arguments, i.e. strips the code points
/// Python calls whitespace (ASCII spaces and 0x1C-0x1F, U+0085, U+00A0, Unicode space
/// separators, U+2028/9). Bytes that are not valid UTF-8 are kept.
std::string_view trimPythonWhitespace(std::string_view text);

} // namespace greta
