//===- greta_inspect.cpp - Print a GGUF file's header, metadata and tensors -===//
//
// `greta-inspect FILE.gguf` validates the file exactly as the runtime does (so "inspect says it
// is fine" means "GRETA will load it") and prints a readable summary; `--json` prints one JSON
// object for scripts and tests. Long arrays (vocabularies, merges) are shortened to their first
// elements unless `--full` is given; in the human form long strings are shortened too.
// Any validation error goes to stderr and the exit status is 1.
//
//===----------------------------------------------------------------------===//
#include "runtime/formats/gguf.h"
#include "runtime/support/error.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <iostream>

namespace greta {
namespace {

struct Options {
  std::string path;
  bool json = false;
  bool full = false;
};

// How much of a long value the shortened forms keep.
constexpr size_t kHumanArrayElements = 6; // fits one terminal line for short tokens
constexpr size_t kJsonArrayElements = 8;
constexpr size_t kHumanStringBytes = 64;

/// "array<string>", "array<array>" or the scalar type name.
std::string typeName(const GgufValue &value) {
  if (const GgufArray *array = value.array())
    return fmt::format("array<{}>", nameOf(array->elementType));
  return std::string(nameOf(value.type()));
}

/// Length of the longest prefix of `text` of at most `limit` bytes that does not split a UTF-8
/// sequence, so shortened strings stay valid text.
size_t utf8Prefix(std::string_view text, size_t limit) {
  if (text.size() <= limit)
    return text.size();
  size_t end = limit;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80)
    --end;
  return end;
}

/// Bytes in the well-formed UTF-8 sequence starting at text[i], or 0 if there is none there.
size_t utf8SequenceAt(std::string_view text, size_t i) {
  auto lead = static_cast<unsigned char>(text[i]);
  size_t length = lead < 0x80 ? 1 : lead >= 0xC2 && lead <= 0xDF ? 2 : lead >= 0xE0 && lead <= 0xEF ? 3
                  : lead >= 0xF0 && lead <= 0xF4 ? 4 : 0;
  if (length == 0 || i + length > text.size())
    return 0;
  for (size_t k = 1; k < length; ++k)
    if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80)
      return 0;
  return length;
}

/// `text` with C-style escapes for quotes, backslashes, control bytes and bytes that are not
/// UTF-8 (a damaged vocabulary must not garble the terminal).
std::string escaped(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size();) {
    char ch = text[i];
    auto c = static_cast<unsigned char>(ch);
    size_t length = utf8SequenceAt(text, i);
    if (length > 1) {
      out.append(text.substr(i, length));
      i += length;
      continue;
    }
    ++i;
    switch (ch) {
    case '"': out += "\\\""; break;
    case '\\': out += "\\\\"; break;
    case '\n': out += "\\n"; break;
    case '\t': out += "\\t"; break;
    case '\r': out += "\\r"; break;
    default:
      if (c < 0x20 || c >= 0x7f)
        out += fmt::format("\\x{:02x}", c);
      else
        out += ch;
    }
  }
  return out;
}

std::string quotedLiteral(std::string_view text) { return "\"" + escaped(text) + "\""; }

std::string humanValue(const GgufValue &value, const Options &options) {
  if (const std::string *text = value.string()) {
    if (options.full || text->size() <= kHumanStringBytes)
      return quotedLiteral(*text);
    size_t keep = utf8Prefix(*text, kHumanStringBytes);
    return fmt::format("{}... ({} bytes)", quotedLiteral(std::string_view(*text).substr(0, keep)),
                       text->size());
  }
  if (const GgufArray *array = value.array()) {
    size_t shown = options.full ? array->elements.size()
                                : std::min(array->elements.size(), kHumanArrayElements);
    std::vector<std::string> parts;
    for (size_t i = 0; i < shown; ++i)
      parts.push_back(humanValue(array->elements[i], options));
    if (shown < array->elements.size())
      parts.emplace_back("...");
    return fmt::format("[{} × {}] [{}]", nameOf(array->elementType), array->elements.size(),
                       fmt::join(parts, ", "));
  }
  if (auto b = value.asBool())
    return *b ? "true" : "false";
  if (value.type() == GgufValueType::Float32)
    return fmt::format("{}", static_cast<float>(*value.asDouble()));
  if (value.isFloat())
    return fmt::format("{}", *value.asDouble());
  if (auto u = value.asUInt())
    return fmt::format("{}", *u);
  return fmt::format("{}", *value.asInt());
}

nlohmann::json jsonValue(const GgufValue &value, const Options &options) {
  if (const std::string *text = value.string())
    return *text;
  if (const GgufArray *array = value.array()) {
    size_t shown = options.full ? array->elements.size()
                                : std::min(array->elements.size(), kJsonArrayElements);
    nlohmann::json elements = nlohmann::json::array();
    for (size_t i = 0; i < shown; ++i)
      elements.push_back(jsonValue(array->elements[i], options));
    return elements;
  }
  if (auto b = value.asBool())
    return *b;
  if (value.isFloat())
    return *value.asDouble();
  if (auto u = value.asUInt())
    return *u;
  return *value.asInt();
}

nlohmann::json jsonEntry(const std::string &key, const GgufValue &value, const Options &options) {
  nlohmann::json entry = {{"key", key}, {"type", nameOf(value.type())}};
  if (const GgufArray *array = value.array()) {
    entry["element_type"] = nameOf(array->elementType);
    entry["length"] = array->elements.size();
    entry["truncated"] = !options.full && array->elements.size() > kJsonArrayElements;
  }
  entry["value"] = jsonValue(value, options);
  return entry;
}

uint64_t totalTensorBytes(const GgufFile &file) {
  uint64_t total = 0;
  for (const auto &tensor : file.tensors())
    total += tensor.bytes; // tensors lie inside the file without overlap, so this cannot overflow
  return total;
}

void printJson(const GgufFile &file, const Options &options) {
  nlohmann::json metadata = nlohmann::json::array();
  for (const auto &[key, value] : file.metadata())
    metadata.push_back(jsonEntry(key, value, options));
  nlohmann::json tensors = nlohmann::json::array();
  for (const auto &tensor : file.tensors())
    tensors.push_back({{"name", tensor.name},
                       {"type", nameOf(tensor.type)},
                       {"shape", tensor.dims},
                       {"elements", tensor.elements()},
                       {"bytes", tensor.bytes},
                       {"offset", tensor.offset}});
  nlohmann::json root = {{"file", file.path()},
                         {"version", file.version()},
                         {"alignment", file.alignment()},
                         {"file_size", file.fileSize()},
                         {"data_offset", file.dataOffset()},
                         {"metadata", std::move(metadata)},
                         {"tensors", std::move(tensors)},
                         {"tensor_bytes", totalTensorBytes(file)}};
  // Vocabulary entries of a damaged file may not be valid UTF-8; replace rather than fail.
  std::cout << root.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

std::string humanBytes(uint64_t bytes) {
  constexpr const char *kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  return unit == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.2f} {}", value, kUnits[unit]);
}

/// Prints rows as left-aligned columns separated by two spaces.
void printTable(const std::vector<std::vector<std::string>> &rows) {
  std::vector<size_t> widths;
  for (const auto &row : rows)
    for (size_t c = 0; c < row.size(); ++c) {
      widths.resize(std::max(widths.size(), row.size()));
      widths[c] = std::max(widths[c], row[c].size());
    }
  for (const auto &row : rows) {
    std::string line = " ";
    for (size_t c = 0; c < row.size(); ++c)
      line += c + 1 == row.size() ? " " + row[c] : fmt::format(" {:<{}} ", row[c], widths[c]);
    fmt::print("{}\n", line);
  }
}

void printHuman(const GgufFile &file, const Options &options) {
  fmt::print("{}: GGUF v{}, alignment {}, {} metadata entries, {} tensors, {} bytes (data at "
             "offset {})\n",
             file.path(), file.version(), file.alignment(), file.metadata().size(),
             file.tensors().size(), file.fileSize(), file.dataOffset());

  fmt::print("\nmetadata:\n");
  std::vector<std::vector<std::string>> rows = {{"KEY", "TYPE", "VALUE"}};
  for (const auto &[key, value] : file.metadata())
    rows.push_back({escaped(key), typeName(value), humanValue(value, options)});
  printTable(rows);

  fmt::print("\ntensors:{}\n", file.tensors().empty() ? " none" : "");
  rows = {{"NAME", "TYPE", "SHAPE", "BYTES", "OFFSET"}};
  uint64_t elements = 0;
  for (const auto &tensor : file.tensors()) {
    rows.push_back({escaped(tensor.name), std::string(nameOf(tensor.type)),
                    fmt::format("[{}]", fmt::join(tensor.dims, ", ")),
                    fmt::format("{}", tensor.bytes), fmt::format("{}", tensor.offset)});
    elements += tensor.elements();
  }
  if (!file.tensors().empty())
    printTable(rows);
  uint64_t bytes = totalTensorBytes(file);
  fmt::print("\n{} tensors, {} elements, {} bytes ({})\n", file.tensors().size(), elements, bytes,
             humanBytes(bytes));
}

} // namespace
} // namespace greta

int main(int argc, char **argv) {
  greta::Options options;
  CLI::App app{"Validate a GGUF file and print its header, metadata and tensor table."};
  app.add_option("file", options.path, "GGUF file to inspect")->required();
  app.add_flag("--json", options.json, "print one JSON object instead of tables");
  app.add_flag("--full", options.full, "print every array element and whole strings");
  CLI11_PARSE(app, argc, argv);

  try {
    greta::GgufFile file = greta::GgufFile::open(options.path);
    if (options.json)
      greta::printJson(file, options);
    else
      greta::printHuman(file, options);
  } catch (const std::exception &e) {
    std::fflush(stdout);
    fmt::print(stderr, "greta-inspect: error: {}\n", e.what());
    return 1;
  }
  return 0;
}
