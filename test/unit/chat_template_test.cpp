//===- chat_template_test.cpp - Llama-3 chat templates vs jinja2 vectors --===//
//
// test/data/chat/llama3_chat_vectors.json holds conversations rendered by jinja2 the way Hugging
// Face's apply_chat_template renders them, and their token ids from the `tokenizers` package
// (scripts/gen_chat_vectors.py). The Llama-3 template itself comes from the testdata GGUF.
//
//===----------------------------------------------------------------------===//
#include "runtime/tokenizer/chat_template.h"

#include "runtime/formats/gguf.h"
#include "runtime/support/error.h"
#include "runtime/tokenizer/tokenizer.h"
#include "test/unit/support/shared_testdata.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <functional>
#include <regex>

namespace greta {
namespace {

const std::string kVocabPath = GRETA_SHARED_TESTDATA "/llama3-tokenizer/llama3-vocab.gguf";
const std::string kVectorsPath = GRETA_TEST_DATA "/chat/llama3_chat_vectors.json";
constexpr const char *kBos = "<|begin_of_text|>";

struct Vector {
  std::string name;
  std::string templateName;
  std::vector<ChatMessage> messages;
  bool addGenerationPrompt = false;
  std::string text;
  std::vector<int32_t> ids;
};

struct Vectors {
  std::map<std::string, std::string> templates;
  std::vector<Vector> vectors;
};

const Vectors &vectors() {
  static const Vectors loaded = [] {
    std::ifstream in(kVectorsPath);
    if (!in)
      fail("{}: cannot open", kVectorsPath);
    nlohmann::json doc = nlohmann::json::parse(in);
    Vectors result;
    result.templates = doc.at("templates").get<std::map<std::string, std::string>>();
    for (const auto &v : doc.at("vectors")) {
      Vector vector{v.at("name"), v.at("template"), {}, v.at("add_generation_prompt"),
                    v.at("text"), v.at("ids").get<std::vector<int32_t>>()};
      for (const auto &m : v.at("messages"))
        vector.messages.push_back({m.at("role"), m.at("content")});
      result.vectors.push_back(std::move(vector));
    }
    return result;
  }();
  return loaded;
}

const GgufFile &vocab() {
  static const GgufFile file = GgufFile::open(kVocabPath);
  return file;
}

/// The template a vector was rendered with: the GGUF's own, or one stored in the vectors file.
ChatTemplate templateFor(const std::string &name) {
  if (name == "gguf")
    return ChatTemplate::fromGguf(vocab());
  return ChatTemplate::fromSource(vectors().templates.at(name), kBos, name);
}

/// Runs `body` and returns the greta::Error message it throws (a test failure if it doesn't).
std::string errorFrom(const std::function<void()> &body) {
  try {
    body();
  } catch (const Error &e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a greta::Error";
  return {};
}

// Tests that the testdata GGUF's template is the one the vectors were generated from and is
// recognised as the first published Llama-3 template, which ignores add_generation_prompt.
TEST(ChatTemplateTest, RecognisesTheGgufTemplate) {
  GRETA_NEEDS_SHARED_TESTDATA();
  EXPECT_EQ(vocab().getString("tokenizer.chat_template"), vectors().templates.at("gguf"));
  ChatTemplate chat = ChatTemplate::fromGguf(vocab());
  EXPECT_EQ(chat.family(), ChatTemplateFamily::Llama3);
  EXPECT_EQ(chat.familyName(), "llama3");
  EXPECT_FALSE(chat.honoursGenerationFlag());
  EXPECT_TRUE(templateFor("guarded").honoursGenerationFlag());
  EXPECT_EQ(templateFor("llama31_shape").family(), ChatTemplateFamily::Llama31);
}

// Tests that render() reproduces jinja2's text byte for byte for every vector.
TEST(ChatTemplateTest, RendersReferenceText) {
  GRETA_NEEDS_SHARED_TESTDATA();
  ASSERT_GE(vectors().vectors.size(), 30u);
  for (const Vector &v : vectors().vectors) {
    SCOPED_TRACE(v.name);
    EXPECT_EQ(templateFor(v.templateName).render(v.messages, v.addGenerationPrompt), v.text);
  }
}

// Tests that the rendered text, tokenized with special tokens parsed and no extra BOS, gives the
// reference ids (the template's header and end-of-turn markers become single special tokens).
TEST(ChatTemplateTest, RenderedTextTokenizesToReferenceIds) {
  GRETA_NEEDS_SHARED_TESTDATA();
  std::unique_ptr<Tokenizer> tokenizer = Tokenizer::fromGguf(vocab());
  for (const Vector &v : vectors().vectors) {
    SCOPED_TRACE(v.name);
    std::string text = templateFor(v.templateName).render(v.messages, v.addGenerationPrompt);
    std::vector<int32_t> ids = tokenizer->encode(text, {.addBos = false, .parseSpecial = true});
    EXPECT_EQ(ids, v.ids);
  }
}

// Tests that a continuation turn appended to a cached conversation (its reply and <|eot_id|>
// included) yields the same text as rendering the longer conversation from scratch.
TEST(ChatTemplateTest, ContinuationExtendsCachedConversation) {
  GRETA_NEEDS_SHARED_TESTDATA();
  std::vector<ChatMessage> history = {{"system", "Be brief."}, {"user", "Name a colour."}};
  ChatMessage reply{"assistant", "Blue."};
  ChatMessage next{"user", "  Another one?\n"};
  for (const char *name : {"gguf", "guarded", "llama31_shape"}) {
    SCOPED_TRACE(name);
    ChatTemplate chat = templateFor(name);
    std::string cached = chat.render(history, /*addGenerationPrompt=*/true) + reply.content +
                         "<|eot_id|>";
    std::string continuation = chat.renderContinuation(std::span(&next, 1));
    EXPECT_EQ(continuation,
              "<|start_header_id|>user<|end_header_id|>\n\nAnother one?<|eot_id|>"
              "<|start_header_id|>assistant<|end_header_id|>\n\n");
    std::vector<ChatMessage> full = history;
    full.push_back(reply);
    full.push_back(next);
    EXPECT_EQ(cached + continuation, chat.render(full, /*addGenerationPrompt=*/true));
  }
}

// Tests that spellings Jinja treats alike (whitespace markers, quotes, spacing, dotted look-ups,
// comments, CRLF line ends, a trailing newline) are recognised as the Llama-3 template.
TEST(ChatTemplateTest, RecognisesRespelledLlama3Template) {
  const std::string respelled =
      "{#- Llama-3, reformatted -#}\r\n"
      "{%- set loop_messages = messages -%}\r\n"
      "{%- for message in loop_messages -%}\r\n"
      "  {%- set content = \"<|start_header_id|>\" + message.role + \"<|end_header_id|>\\n\\n\" "
      "+ message.content|trim + \"<|eot_id|>\" -%}\r\n"
      "  {%- if loop.index0==0 %}{% set content = bos_token+content %}{% endif -%}\r\n"
      "  {{- content -}}\r\n"
      "{%- endfor -%}\r\n"
      "{%- if add_generation_prompt -%}\r\n"
      "  {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' -}}\r\n"
      "{%- endif -%}\r\n";
  ChatTemplate chat = ChatTemplate::fromSource(respelled, kBos, "respelled");
  EXPECT_EQ(chat.family(), ChatTemplateFamily::Llama3);
  EXPECT_TRUE(chat.honoursGenerationFlag());
}

// Tests that templates of other families, and Llama-3 look-alikes that would print something
// else, are refused with an error naming the origin and the supported families.
TEST(ChatTemplateTest, RefusesUnrecognisedTemplates) {
  const std::string llama3 = vectors().templates.at("gguf");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"chatml", "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
                 "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"},
      {"empty", ""},
      {"unterminated", "{% for message in messages %}{{ message['content'] "},
      {"extra text", llama3 + "\n\nExtra text"},
      {"no trim", std::regex_replace(llama3, std::regex(R"(\s*\|\s*trim)"), "")},
      {"llama31 unguarded", std::regex_replace(vectors().templates.at("llama31_shape"),
                                               std::regex(R"(\{%- (if add_generation_prompt|endif) %\})"), "")},
      {"llama31 no date", std::regex_replace(vectors().templates.at("llama31_shape"),
                                             std::regex(R"(\{%- set date_string[^}]*\})"), "")},
  };
  for (const auto &[name, source] : cases) {
    SCOPED_TRACE(name);
    std::string message =
        // Init-capture: clang before 16 cannot capture a structured binding by reference.
        errorFrom([&, &source = source] {
          ChatTemplate::fromSource(source, kBos, "model.gguf: key 'x'");
        });
    EXPECT_NE(message.find("model.gguf: key 'x': unrecognised chat template"), std::string::npos)
        << message;
    EXPECT_NE(message.find("supported families: llama3 (Llama-3 Instruct), llama3.1"),
              std::string::npos)
        << message;
  }
}

// Tests that a GGUF without a chat template is refused with an error naming the file and key.
TEST(ChatTemplateTest, RefusesGgufWithoutTemplate) {
  GgufWriter writer;
  writer.add("general.architecture", GgufValue::str("llama"));
  std::vector<uint8_t> bytes = writer.toBytes();
  GgufFile file = GgufFile::parse(bytes, "bare.gguf");
  std::string message = errorFrom([&] { ChatTemplate::fromGguf(file); });
  EXPECT_NE(message.find("bare.gguf: key 'tokenizer.chat_template' is missing"), std::string::npos)
      << message;
}

// Tests that roles other than system/user/assistant, and empty conversations, are refused.
TEST(ChatTemplateTest, RefusesBadRolesAndEmptyConversations) {
  GRETA_NEEDS_SHARED_TESTDATA();
  ChatTemplate chat = ChatTemplate::fromGguf(vocab());
  std::vector<ChatMessage> withTool = {{"user", "hi"}, {"ipython", "{\"x\": 1}"}};
  std::string message = errorFrom([&] { chat.render(withTool, true); });
  EXPECT_NE(message.find("llama3-vocab.gguf: key 'tokenizer.chat_template': chat message 1 has "
                         "role 'ipython'"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("system, user, assistant"), std::string::npos) << message;
  message = errorFrom([&] { chat.renderContinuation(std::span(withTool).subspan(1)); });
  EXPECT_NE(message.find("role 'ipython'"), std::string::npos) << message;
  message = errorFrom([&] { chat.render({}, true); });
  EXPECT_NE(message.find("empty conversation"), std::string::npos) << message;
}

// Tests that trimming follows Python's str.strip(): Unicode spaces go, zero-width characters and
// ill-formed bytes stay.
TEST(ChatTemplateTest, TrimsLikePython) {
  EXPECT_EQ(trimPythonWhitespace(" \t\n\v\f\r\x1c\x1f a b \u0085"), "a b");
  EXPECT_EQ(trimPythonWhitespace("\x85 a \x85"), "\x85 a \x85"); // a lone byte, not U+0085
  EXPECT_EQ(trimPythonWhitespace("\u00a0\u3000x\u2028\u202f"), "x");
  EXPECT_EQ(trimPythonWhitespace("\u200bx\ufeff"), "\u200bx\ufeff");
  EXPECT_EQ(trimPythonWhitespace(" \xc2 x \xe3\x80 "), "\xc2 x \xe3\x80");
  EXPECT_EQ(trimPythonWhitespace(" \xa0 "), "\xa0");
  EXPECT_EQ(trimPythonWhitespace("   "), "");
}

// Tests that a Llama-3.2-style template, which prints today's date through strftime_now, renders
// the current date in the template's format.
TEST(ChatTemplateTest, PrintsTodaysDateWhereTemplateAsks) {
  std::string source = std::regex_replace(
      vectors().templates.at("llama31_shape"), std::regex(R"(set date_string = "26 Jul 2024")"),
      R"(set date_string = strftime_now("%d %b %Y"))");
  ChatTemplate chat = ChatTemplate::fromSource(source, kBos, "llama32");
  ASSERT_EQ(chat.family(), ChatTemplateFamily::Llama31);
  std::vector<ChatMessage> messages = {{"user", "Hi"}};
  std::string text = chat.render(messages, true);
  EXPECT_TRUE(std::regex_search(text, std::regex(R"(\nToday Date: \d\d [A-Z][a-z]{2} \d{4}\n\n)")))
      << text;
}

} // namespace
} // namespace greta
