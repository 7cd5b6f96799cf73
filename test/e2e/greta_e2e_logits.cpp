//===- greta_e2e_logits.cpp - Dump a compiled bundle's logits for the e2e tests ----------===//
//
// TESTS ONLY. `greta-e2e-logits BUNDLE --tokens 1,2,3 [--decode-steps 16] [--generate 32]
// [--feed 5,6,7] [--reprefill] [--max-batch N] [--force-route OP=ROUTE] [--weights GGUF]
// --out X.json` runs the bundle's prefill and decode plans through engine::Session (the CPU
// backend, exactly what greta-run runs) and writes the logits in the schema of
// test/reference/llama_ref.py (test/data/golden/README.md), so the e2e tests compare the two
// directly:
//
//   prompt, prefill_logits_last [V], decode_tokens [D], decode_logits [D][V],
//   continuation [G] (greedy; absent with --feed), top1_gap_prefill, top1_gap_decode [D]
//
// Decode step k feeds decode_tokens[k] at position N+k: continuation[k] without --feed (so
// continuation[0] = argmax of the prefill, continuation[k+1] = argmax of decode step k), else
// feed[k]. --reprefill adds `reprefill_logits` [D][V]: for each step k, a fresh prefill of
// prompt + decode_tokens[0..k] (N+k+1 tokens), its last position — the prefill/decode
// consistency check. Logits are printed with 9 significant digits (f32 round-trips exactly).
//
//===----------------------------------------------------------------------===//
#include "runtime/bundle/bundle.h"
#include "runtime/engine/session.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

std::vector<int32_t> parseIds(const std::string &text) {
  std::vector<int32_t> ids;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ','))
    if (!item.empty())
      ids.push_back(static_cast<int32_t>(std::stoll(item)));
  return ids;
}

int32_t argmax(std::span<const float> logits) {
  return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

double top1Gap(std::span<const float> logits) {
  std::vector<float> v(logits.begin(), logits.end());
  std::partial_sort(v.begin(), v.begin() + 2, v.end(), std::greater<float>());
  return static_cast<double>(v[0]) - v[1];
}

void writeIds(std::ostream &out, const std::vector<int32_t> &ids) {
  out << '[';
  for (size_t i = 0; i < ids.size(); ++i)
    out << (i ? "," : "") << ids[i];
  out << ']';
}

void writeRow(std::ostream &out, std::span<const float> row) {
  out << '[';
  for (size_t i = 0; i < row.size(); ++i)
    out << (i ? "," : "") << fmt::format("{:.9g}", row[i]);
  out << ']';
}

void writeRows(std::ostream &out, const std::vector<std::vector<float>> &rows) {
  out << '[';
  for (size_t i = 0; i < rows.size(); ++i) {
    out << (i ? "," : "");
    writeRow(out, rows[i]);
  }
  out << ']';
}

int run(int argc, char **argv) {
  CLI::App app{"TESTS ONLY: writes a bundle's prefill and decode logits as JSON", "greta-e2e-logits"};
  std::string bundlePath, tokens, feedText, weights, out;
  int64_t decodeSteps = 16;
  int64_t generate = -1;
  bool reprefill = false;
  unsigned threads = 0;
  uint64_t context = 0;
  uint64_t maxBatch = 0;
  std::vector<std::string> forceRoutes;
  app.add_option("bundle", bundlePath, "bundle directory")->required();
  app.add_option("--tokens", tokens, "prompt ids, comma separated")->required();
  app.add_option("--decode-steps", decodeSteps, "decode steps whose logits are written");
  app.add_option("--generate", generate, "greedy continuation length (default decode-steps+1)");
  app.add_option("--feed", feedText, "ids fed at the decode steps instead of the greedy ones");
  app.add_flag("--reprefill", reprefill, "also prefill prompt + decode_tokens[0..k] afresh");
  app.add_option("--force-route", forceRoutes, "OP=ROUTE alternative the bundle carries");
  app.add_option("--weights", weights, "external-weights bundles: the GGUF to read");
  app.add_option("--threads", threads, "CPU threads (0: all)");
  app.add_option("--ctx", context, "KV cache tokens (0: default)");
  app.add_option("--max-batch", maxBatch, "tokens per prefill run; longer prompts run in chunks");
  app.add_option("--out", out, "output JSON file")->required();
  CLI11_PARSE(app, argc, argv);

  const std::vector<int32_t> prompt = parseIds(tokens);
  if (prompt.empty())
    throw std::runtime_error("--tokens: empty prompt");
  const bool feeding = !feedText.empty();
  const std::vector<int32_t> feed = parseIds(feedText);
  if (feeding) {
    decodeSteps = static_cast<int64_t>(feed.size());
    generate = 0;
  } else if (generate < 0) {
    generate = decodeSteps + 1;
  }
  if (!feeding && generate < decodeSteps + 1)
    throw std::runtime_error("--generate must be at least --decode-steps + 1");
  const int64_t steps = std::max(decodeSteps, generate - 1);

  greta::bundle::BundleOpenOptions open;
  open.weightsPath = weights;
  open.threads = threads;
  const std::unique_ptr<greta::bundle::Bundle> bundle = greta::bundle::Bundle::open(bundlePath, open);
  greta::engine::Session session(
      *bundle, {.context = context, .maxBatch = maxBatch, .threads = threads, .forceRoutes = forceRoutes});

  std::span<const float> logits = session.prefill(prompt);
  const std::vector<float> prefillLast(logits.begin(), logits.end());
  std::vector<int32_t> continuation, decodeTokens;
  std::vector<std::vector<float>> decodeLogits;
  std::vector<double> decodeGaps;
  if (!feeding)
    continuation.push_back(argmax(logits));
  for (int64_t k = 0; k < steps; ++k) {
    const int32_t token = feeding ? feed[k] : continuation[k];
    logits = session.decode(token);
    if (k < decodeSteps) {
      decodeTokens.push_back(token);
      decodeLogits.emplace_back(logits.begin(), logits.end());
      decodeGaps.push_back(top1Gap(logits));
    }
    if (!feeding && static_cast<int64_t>(continuation.size()) < generate)
      continuation.push_back(argmax(logits));
  }

  std::vector<std::vector<float>> reprefillLogits;
  if (reprefill) {
    std::vector<int32_t> sequence = prompt;
    for (int32_t token : decodeTokens) {
      sequence.push_back(token);
      session.reset();
      std::span<const float> row = session.prefill(sequence);
      reprefillLogits.emplace_back(row.begin(), row.end());
    }
  }

  std::ofstream file(out, std::ios::binary);
  if (!file)
    throw std::runtime_error("--out " + out + ": cannot open for writing");
  file << "{\"format\":\"greta-golden-logits\",\"producer\":\"greta-e2e-logits (CPU backend)\"";
  file << ",\"prompt\":";
  writeIds(file, prompt);
  file << ",\"prefill_logits_last\":";
  writeRow(file, prefillLast);
  file << ",\"decode_tokens\":";
  writeIds(file, decodeTokens);
  file << ",\"decode_logits\":";
  writeRows(file, decodeLogits);
  if (!feeding) {
    continuation.resize(static_cast<size_t>(generate));
    file << ",\"continuation\":";
    writeIds(file, continuation);
  }
  file << ",\"top1_gap_prefill\":" << fmt::format("{:.9g}", top1Gap(prefillLast));
  file << ",\"top1_gap_decode\":[";
  for (size_t i = 0; i < decodeGaps.size(); ++i)
    file << (i ? "," : "") << fmt::format("{:.9g}", decodeGaps[i]);
  file << ']';
  if (reprefill) {
    file << ",\"reprefill_logits\":";
    writeRows(file, reprefillLogits);
  }
  file << ",\"threads\":" << session.threads() << "}\n";
  if (!file)
    throw std::runtime_error("--out " + out + ": write failed");
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception &e) {
    std::fprintf(stderr, "greta-e2e-logits: error: %s\n", e.what());
    return 1;
  }
}
