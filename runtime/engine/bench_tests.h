//===- bench_tests.h - llama-bench-style tests on a Session ---------------===//
//
// The three tests established tools report, run on an engine::Session:
//   ppN        prefill of N tokens into an empty KV cache; tok/s over the N tokens
//   tgN        N decode steps after a 1-token prompt (the prompt untimed); tok/s over N
//   ppP+tgN    prefill of P tokens, then N decode steps, timed together; tok/s over P + N
// Token ids are fresh uniform random vocabulary ids for every run (not a run of zeros, not the
// same prompt twice: a seeded generator), and decode feeds random ids too, so no backend can
// cache its way to a number. Nothing is sampled: the tests time the plans, as llama-bench does.
//
// A test runs once as a warm-up, then `repetitions` times; the result keeps every repetition's
// seconds. Its tok/s is tokens / median seconds (so min and max come from the slowest and the
// fastest run); the standard deviation is that of the runs' tok/s.
//
// Thread-safety: uses the session it is given; one test at a time per session.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/engine/session.h"

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace greta::engine {

struct BenchTest {
  uint64_t prompt = 0;   ///< tokens prefilled, timed (pp, pg); 0 for tg
  uint64_t generate = 0; ///< decode steps, timed (tg, pg); 0 for pp

  /// "pp512", "tg128", "pp2048+tg128".
  std::string name() const;
  /// Tokens timed: prompt + generate.
  uint64_t timedTokens() const { return prompt + generate; }
  /// KV cache tokens the test fills (tg's untimed 1-token prompt included).
  uint64_t contextNeeded() const { return (prompt == 0 ? 1 : prompt) + generate; }
};

/// "pp512", "tg128", "pp2048+tg128" (what name() prints). Throws greta::Error naming the text
/// and the accepted forms for anything else, zero counts included.
BenchTest parseBenchTest(std::string_view text);
/// -pg's "P,N" (2048,128): prefill P then N decode steps. Throws greta::Error naming the text.
BenchTest parsePromptGenerate(std::string_view text);

struct BenchRun {
  double prefillSeconds = 0; ///< timed prefill (0 for tg)
  double decodeSeconds = 0;  ///< timed decode steps (0 for pp)
  double seconds() const { return prefillSeconds + decodeSeconds; }
};

/// Spread of a statistic over the repetitions.
struct Spread {
  double median = 0, min = 0, max = 0, mean = 0, stddev = 0;
};

struct BenchResult {
  BenchTest test;
  std::vector<BenchRun> runs{}; ///< the timed repetitions, warm-up excluded

  /// Median of the runs' total seconds.
  double medianSeconds() const;
  /// tok/s: median = timed tokens / median seconds; min/max from the slowest/fastest run; mean
  /// and (population) standard deviation over the runs' tok/s.
  Spread tokensPerSecond() const;
  /// Median of the runs' decode seconds per decode step (0 without decode steps).
  double medianDecodeSecondsPerToken() const;
};

/// Runs `test` on `session`: one warm-up run, then `repetitions` (>= 1) timed runs, each from an
/// empty KV cache (session.reset()) with fresh ids drawn from `rng`. The session's context must
/// hold test.contextNeeded() tokens (Session::prefill throws otherwise).
BenchResult runBenchTest(Session &session, const BenchTest &test, unsigned repetitions,
                         std::mt19937_64 &rng);

/// One run of `test` (no warm-up), e.g. under a profiler.
BenchRun runBenchOnce(Session &session, const BenchTest &test, std::mt19937_64 &rng);

} // namespace greta::engine
