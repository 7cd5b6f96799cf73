//===- chat_template_fuzzer.cpp - libFuzzer target for chat templates -----===//
//
// Input: TEMPLATE [ '\0' FLAGS RECORD ('\0' RECORD)* ]. TEMPLATE goes to ChatTemplate::fromSource
// (recognition lexes it as Jinja). The conversation is then rendered with that template when it
// is recognised, else with one of the known templates from test/data/chat (FLAGS picks which), so
// every input exercises rendering too. Each RECORD is one message: its first byte picks the role
// (system, user, assistant, or an unsupported one), the rest is the content.
//
// Checked: errors are greta::Error only; a render starts with the BOS text; trimming is
// idempotent and leaves no Python whitespace at either end; and the continuation contract of
// chat_template.h: for an assistant message k >= 1,
//   render(m[0..n), gen) == render(m[0..k), gen) + trim(m[k]) + "<|eot_id|>"
//                           + renderContinuation(m(k..n)).
//
//===----------------------------------------------------------------------===//
#include "runtime/support/error.h"
#include "runtime/tokenizer/chat_template.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace {

using greta::ChatMessage;
using greta::ChatTemplate;

constexpr std::string_view kBos = "<|begin_of_text|>";
constexpr std::string_view kEndOfTurn = "<|eot_id|>";
constexpr std::array<const char *, 4> kRoles = {"system", "user", "assistant", "tool"};

// Bits of FLAGS.
constexpr uint8_t kAddGenerationPrompt = 1 << 0;
constexpr int kKnownTemplateShift = 1; // the remaining bits pick the fallback template

std::vector<ChatTemplate> *gKnown = nullptr;

[[noreturn]] void broken(const char *what) {
  std::fprintf(stderr, "chat_template_fuzzer: %s\n", what);
  std::abort();
}

std::vector<ChatTemplate> *loadKnownTemplates() {
  const std::string path = std::string(GRETA_TEST_DATA) + "/chat/llama3_chat_vectors.json";
  std::ifstream in(path);
  auto *known = new std::vector<ChatTemplate>;
  try {
    const nlohmann::json vectors = nlohmann::json::parse(in);
    for (const auto &[name, source] : vectors.at("templates").items())
      known->push_back(ChatTemplate::fromSource(source.get<std::string>(), std::string(kBos), name));
  } catch (const std::exception &error) {
    std::fprintf(stderr, "chat_template_fuzzer: cannot load %s: %s\n", path.c_str(), error.what());
    std::exit(1);
  }
  if (known->empty())
    broken("no known templates in test/data/chat");
  return known;
}

/// True when trimming `text` again removes something: a trimmed text must keep no Python
/// whitespace at either end (cheaper than re-deriving the space classes here).
bool changesWhenTrimmed(std::string_view text) {
  return greta::trimPythonWhitespace(text).size() != text.size();
}

/// Renders `messages`, or nullopt when the template refuses them with greta::Error.
std::optional<std::string> tryRender(const ChatTemplate &chat, std::span<const ChatMessage> m,
                                     bool generation) {
  try {
    return chat.render(m, generation);
  } catch (const greta::Error &) {
    return std::nullopt;
  }
}

void checkRender(const ChatTemplate &chat, const std::vector<ChatMessage> &messages,
                 bool generation) {
  std::optional<std::string> whole = tryRender(chat, messages, generation);
  if (!whole)
    return;
  if (whole->compare(0, kBos.size(), kBos) != 0)
    broken("render() does not start with the BOS text");
  // The continuation contract, at every assistant turn after the first message.
  const std::span<const ChatMessage> all(messages);
  for (size_t k = 1; k < messages.size(); ++k) {
    if (messages[k].role != "assistant")
      continue;
    std::optional<std::string> prefix = tryRender(chat, all.first(k), generation);
    if (!prefix)
      broken("render() refused a prefix of a conversation it accepted");
    std::string joined = *prefix;
    joined += greta::trimPythonWhitespace(messages[k].content);
    joined += kEndOfTurn;
    joined += chat.renderContinuation(all.subspan(k + 1));
    // Templates that ignore the generation flag add the assistant header to the prefix anyway.
    if ((generation || !chat.honoursGenerationFlag()) && joined != *whole)
      broken("prefix + reply + <|eot_id|> + renderContinuation() != render()");
  }
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  gKnown = loadKnownTemplates();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string_view input(reinterpret_cast<const char *>(data), size);
  const size_t templateEnd = std::min(input.find('\0'), input.size());
  const std::string_view source = input.substr(0, templateEnd);

  std::optional<ChatTemplate> fuzzed;
  try {
    fuzzed = ChatTemplate::fromSource(source, std::string(kBos), "fuzz.gguf: key 'x'");
  } catch (const greta::Error &) {
  }

  std::string_view tail = input.substr(std::min(templateEnd + 1, input.size()));
  const uint8_t flags = tail.empty() ? 0 : static_cast<uint8_t>(tail[0]);
  if (!tail.empty())
    tail.remove_prefix(1);
  std::vector<ChatMessage> messages;
  while (!tail.empty() || (messages.empty() && templateEnd < input.size())) {
    const size_t end = std::min(tail.find('\0'), tail.size());
    std::string_view record = tail.substr(0, end);
    ChatMessage message;
    message.role = kRoles[record.empty() ? 1 : uint8_t(record[0]) % kRoles.size()];
    if (!record.empty())
      record.remove_prefix(1);
    message.content = std::string(record);
    messages.push_back(std::move(message));
    tail.remove_prefix(std::min(end + 1, tail.size()));
  }
  if (messages.empty()) // template only: a fixed conversation
    messages = {{"system", " Be brief. "}, {"user", "Hi!\n"}, {"assistant", "Hello."},
                {"user", "\u00a0Bye\u3000"}};

  for (const ChatMessage &message : messages) {
    std::string_view trimmed = greta::trimPythonWhitespace(message.content);
    if (changesWhenTrimmed(trimmed))
      broken("trimPythonWhitespace() is not idempotent");
  }

  const ChatTemplate &chat =
      fuzzed ? *fuzzed : (*gKnown)[(flags >> kKnownTemplateShift) % gKnown->size()];
  checkRender(chat, messages, flags & kAddGenerationPrompt);
  try {
    (void)chat.renderContinuation(messages);
  } catch (const greta::Error &) {
  }
  return 0;
}
