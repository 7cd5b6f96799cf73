//===- greta_tokenize.cpp - Encode or decode lines of JSON with a GGUF tokenizer ===//
//
// greta-tokenize MODEL.gguf [--special] [--bos] [--decode]
//
// Encoding (default): each stdin line is one JSON string; each output line is the JSON array of
// its token ids. Decoding (--decode): each stdin line is a JSON array of ids; each output line is
// the decoded JSON string (bytes that are not UTF-8, e.g. half of a character split across
// tokens, are written as U+FFFD because JSON strings cannot hold them).
//
// A line that is not the expected JSON, or an id out of range, stops the tool with a message
// naming the line number and exit status 1. Output is flushed per line so the tool can be driven
// interactively through a pipe.
//
//===----------------------------------------------------------------------===//

#include "runtime/formats/gguf.h"
#include "runtime/support/error.h"
#include "runtime/tokenizer/tokenizer.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <iostream>
#include <string>

namespace {

using greta::fail;
using nlohmann::json;

struct Options {
  std::string model;
  bool parseSpecial = false;
  bool addBos = false;
  bool decode = false;
};

json parseLine(const std::string &line, size_t lineNumber) {
  try {
    return json::parse(line);
  } catch (const json::exception &error) {
    fail("<stdin>:{}: invalid JSON: {}", lineNumber, error.what());
  }
}

std::string encodeLine(const greta::Tokenizer &tokenizer, const Options &options,
                       const std::string &line, size_t lineNumber) {
  const json input = parseLine(line, lineNumber);
  if (!input.is_string())
    fail("<stdin>:{}: expected a JSON string, got {}", lineNumber, input.type_name());
  const std::vector<int32_t> ids = tokenizer.encode(
      input.get_ref<const std::string &>(),
      greta::EncodeOptions{.addBos = options.addBos, .parseSpecial = options.parseSpecial});
  return json(ids).dump();
}

std::string decodeLine(const greta::Tokenizer &tokenizer, const std::string &line,
                       size_t lineNumber) {
  const json input = parseLine(line, lineNumber);
  if (!input.is_array())
    fail("<stdin>:{}: expected a JSON array of token ids, got {}", lineNumber, input.type_name());
  std::vector<int32_t> ids;
  ids.reserve(input.size());
  for (size_t i = 0; i < input.size(); ++i) {
    const json &id = input[i];
    if (!id.is_number_integer() || id.get<int64_t>() < INT32_MIN || id.get<int64_t>() > INT32_MAX)
      fail("<stdin>:{}: element {} = {} is not a 32-bit integer token id", lineNumber, i,
           id.dump());
    ids.push_back(id.get<int32_t>());
  }
  try {
    return json(tokenizer.decode(ids)).dump(-1, ' ', false, json::error_handler_t::replace);
  } catch (const greta::Error &error) {
    fail("<stdin>:{}: {}", lineNumber, error.what());
  }
}

int run(const Options &options) {
  const greta::GgufFile gguf = greta::GgufFile::open(options.model);
  const std::unique_ptr<greta::Tokenizer> tokenizer = greta::Tokenizer::fromGguf(gguf);
  std::string line;
  for (size_t lineNumber = 1; std::getline(std::cin, line); ++lineNumber) {
    std::cout << (options.decode ? decodeLine(*tokenizer, line, lineNumber)
                                 : encodeLine(*tokenizer, options, line, lineNumber))
              << std::endl;
  }
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  CLI::App app{"Encode JSON strings to token ids (or decode id arrays) with a GGUF tokenizer, "
               "one JSON value per line on stdin and stdout."};
  Options options;
  app.add_option("model", options.model, "GGUF file with tokenizer.ggml.* metadata")
      ->required();
  app.add_flag("--special", options.parseSpecial,
               "Turn control token texts such as <|eot_id|> in the input into their ids");
  app.add_flag("--bos", options.addBos, "Start each encoding with the BOS id");
  app.add_flag("--decode", options.decode, "Read arrays of ids and write the decoded strings");
  CLI11_PARSE(app, argc, argv);
  try {
    return run(options);
  } catch (const greta::Error &error) {
    std::cerr << "greta-tokenize: " << error.what() << "\n";
    return 1;
  }
}
