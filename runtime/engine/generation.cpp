//===- generation.cpp - Prefill a prompt, then sample until a stop ---------===//
#include "runtime/engine/generation.h"

#include <algorithm>
#include <chrono>

namespace greta::engine {
namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

} // namespace

std::string_view nameOf(StopReason reason) {
  switch (reason) {
  case StopReason::EndOfTurn:
    return "eos";
  case StopReason::Length:
    return "length";
  case StopReason::ContextFull:
    return "context";
  case StopReason::Interrupted:
    break;
  }
  return "interrupted";
}

GenerationResult generate(Session &session, sampling::Sampler &sampler,
                          std::span<const int32_t> prompt, const GenerationOptions &options,
                          std::vector<int32_t> &history, const GenerationCallbacks &callbacks) {
  GenerationResult result;
  auto stopRequested = [&] { return options.stopRequested && options.stopRequested(); };
  if (stopRequested()) { // nothing ran: the prompt is not in the cache
    result.stop = StopReason::Interrupted;
    return result;
  }
  result.promptTokens = prompt.size();
  const auto promptStart = Clock::now();
  std::span<const float> logits = session.prefill(prompt);
  result.promptSeconds = secondsSince(promptStart);
  if (callbacks.afterStep)
    callbacks.afterStep();

  const auto generationStart = Clock::now();
  for (;;) {
    if (result.tokens.size() >= options.maxTokens) {
      result.stop = StopReason::Length;
      break;
    }
    if (stopRequested()) { // every sampled token is decoded: nothing is unfed
      result.stop = StopReason::Interrupted;
      break;
    }
    const int32_t token = sampler.sample(logits, history);
    const bool stops = std::find(options.stopTokens.begin(), options.stopTokens.end(), token) !=
                       options.stopTokens.end();
    if (stops) {
      result.stop = StopReason::EndOfTurn;
      result.stopToken = token;
      result.unfed = {token};
      break;
    }
    result.tokens.push_back(token);
    history.push_back(token);
    if (callbacks.onToken)
      callbacks.onToken(token);
    const bool lastAllowed = result.tokens.size() >= options.maxTokens;
    if (lastAllowed || session.position() >= session.context()) {
      result.stop = lastAllowed ? StopReason::Length : StopReason::ContextFull;
      result.unfed = {token};
      break;
    }
    logits = session.decode(token);
    if (callbacks.afterStep)
      callbacks.afterStep();
  }
  result.generationSeconds = secondsSince(generationStart);
  return result;
}

} // namespace greta::engine
