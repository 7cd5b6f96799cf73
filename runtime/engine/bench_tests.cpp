//===- bench_tests.cpp - llama-bench-style tests on a Session -------------===//
#include "runtime/engine/bench_tests.h"

#include "runtime/support/error.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <optional>

namespace greta::engine {
namespace {

/// A positive decimal count filling all of `text`; nullopt otherwise.
std::optional<uint64_t> positiveCount(std::string_view text) {
  uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value == 0)
    return std::nullopt;
  return value;
}

/// "<prefix>N" → N.
std::optional<uint64_t> prefixedCount(std::string_view text, std::string_view prefix) {
  if (!text.starts_with(prefix))
    return std::nullopt;
  return positiveCount(text.substr(prefix.size()));
}

double seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double median(std::vector<double> values) {
  if (values.empty())
    return 0;
  std::sort(values.begin(), values.end());
  const size_t middle = values.size() / 2;
  return values.size() % 2 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
}

std::vector<int32_t> randomIds(std::mt19937_64 &rng, uint64_t count, uint64_t vocab) {
  std::uniform_int_distribution<int32_t> id(0, static_cast<int32_t>(vocab - 1));
  std::vector<int32_t> ids(count);
  for (int32_t &value : ids)
    value = id(rng);
  return ids;
}

} // namespace

std::string BenchTest::name() const {
  if (prompt && generate)
    return fmt::format("pp{}+tg{}", prompt, generate);
  return prompt ? fmt::format("pp{}", prompt) : fmt::format("tg{}", generate);
}

BenchTest parseBenchTest(std::string_view text) {
  if (const size_t plus = text.find('+'); plus != std::string_view::npos) {
    auto prompt = prefixedCount(text.substr(0, plus), "pp");
    auto generate = prefixedCount(text.substr(plus + 1), "tg");
    if (prompt && generate)
      return {.prompt = *prompt, .generate = *generate};
  } else if (auto prompt = prefixedCount(text, "pp")) {
    return {.prompt = *prompt};
  } else if (auto generate = prefixedCount(text, "tg")) {
    return {.generate = *generate};
  }
  fail("test '{}': unknown test; use ppN (prefill N tokens), tgN (N decode steps) or ppP+tgN "
       "(both), with counts of at least 1, e.g. pp512, tg128, pp2048+tg128",
       text);
}

BenchTest parsePromptGenerate(std::string_view text) {
  const size_t comma = text.find(',');
  if (comma != std::string_view::npos)
    if (auto prompt = positiveCount(text.substr(0, comma)))
      if (auto generate = positiveCount(text.substr(comma + 1)))
        return {.prompt = *prompt, .generate = *generate};
  fail("-pg '{}': expected P,N with two counts of at least 1 (prefill P tokens, then N decode "
       "steps), e.g. -pg 2048,128",
       text);
}

double BenchResult::medianSeconds() const {
  std::vector<double> values;
  for (const BenchRun &run : runs)
    values.push_back(run.seconds());
  return median(std::move(values));
}

Spread BenchResult::tokensPerSecond() const {
  Spread spread;
  if (runs.empty())
    return spread;
  const double tokens = static_cast<double>(test.timedTokens());
  std::vector<double> rates;
  for (const BenchRun &run : runs)
    rates.push_back(run.seconds() > 0 ? tokens / run.seconds() : 0);
  const double middle = medianSeconds();
  spread.median = middle > 0 ? tokens / middle : 0;
  spread.min = *std::min_element(rates.begin(), rates.end());
  spread.max = *std::max_element(rates.begin(), rates.end());
  for (double rate : rates)
    spread.mean += rate / static_cast<double>(rates.size());
  for (double rate : rates)
    spread.stddev +=
        (rate - spread.mean) * (rate - spread.mean) / static_cast<double>(rates.size());
  spread.stddev = std::sqrt(spread.stddev);
  return spread;
}

double BenchResult::medianDecodeSecondsPerToken() const {
  if (test.generate == 0)
    return 0;
  std::vector<double> values;
  for (const BenchRun &run : runs)
    values.push_back(run.decodeSeconds / static_cast<double>(test.generate));
  return median(std::move(values));
}

BenchRun runBenchOnce(Session &session, const BenchTest &test, std::mt19937_64 &rng) {
  // Draw every id first: the generator's time is not the model's.
  const uint64_t vocab = session.vocab();
  const std::vector<int32_t> prompt = randomIds(rng, test.prompt == 0 ? 1 : test.prompt, vocab);
  const std::vector<int32_t> steps = randomIds(rng, test.generate, vocab);
  session.reset();
  BenchRun run;
  const auto start = std::chrono::steady_clock::now();
  session.prefill(prompt);
  if (test.prompt != 0)
    run.prefillSeconds = seconds(start);
  const auto decodeStart = std::chrono::steady_clock::now();
  for (int32_t id : steps)
    session.decode(id);
  if (test.generate != 0)
    run.decodeSeconds = seconds(decodeStart);
  return run;
}

BenchResult runBenchTest(Session &session, const BenchTest &test, unsigned repetitions,
                         std::mt19937_64 &rng) {
  if (repetitions == 0)
    fail("{}: at least one repetition is needed", test.name());
  BenchResult result{.test = test};
  (void)runBenchOnce(session, test, rng); // warm-up: caches, graphs, page faults
  for (unsigned r = 0; r < repetitions; ++r)
    result.runs.push_back(runBenchOnce(session, test, rng));
  return result;
}

} // namespace greta::engine
