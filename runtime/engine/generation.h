//===- generation.h - Prefill a prompt, then sample until a stop -----------===//
//
// The loop every front end shares: prefill the prompt, then sample a token, report it, decode it,
// until a stop token, the token limit, a full context or a stop request (Ctrl-C, checked between
// tokens, so every step that ran is whole). The token that ends generation is not
// decoded (nothing needs its logits); GenerationResult::unfed lists what the KV cache lacks, so
// an interactive chat can feed it ahead of the next turn.
//
// Thread-safety: uses the session and sampler it is given; one generation at a time per session.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/engine/session.h"
#include "runtime/sampling/sampler.h"

#include <cstdint>
#include <functional>
#include <span>
#include <string_view>
#include <vector>

namespace greta::engine {

enum class StopReason {
  EndOfTurn,   ///< sampled a stop token (EOS, <|eot_id|>)
  Length,      ///< generated maxTokens tokens
  ContextFull, ///< the KV cache has no room for another token
  Interrupted, ///< GenerationOptions::stopRequested said so (Ctrl-C)
};

/// "eos", "length", "context", "interrupted".
std::string_view nameOf(StopReason reason);

struct GenerationOptions {
  uint64_t maxTokens = 0;          ///< tokens to generate at most (stop token not counted)
  std::vector<int32_t> stopTokens; ///< ids that end generation; not reported as output
  /// Polled before the prefill and before each token; true ends generation (Interrupted).
  std::function<bool()> stopRequested;
};

struct GenerationResult {
  std::vector<int32_t> tokens; ///< generated ids, stop token excluded
  StopReason stop = StopReason::Length;
  int32_t stopToken = -1;     ///< the stop token sampled, for EndOfTurn
  std::vector<int32_t> unfed; ///< sampled ids not yet in the KV cache (last token, stop token)
  uint64_t promptTokens = 0;
  double promptSeconds = 0;     ///< prefill
  double generationSeconds = 0; ///< sampling and decoding, after the prefill
};

/// Optional observers of a generation.
struct GenerationCallbacks {
  std::function<void(int32_t)> onToken; ///< each generated id, as soon as it is sampled
  std::function<void()> afterStep;      ///< after the prefill and after each decode (audits)
};

/// Runs `prompt` through session.prefill, then generates. `history` (prompt included) feeds the
/// repetition penalty; generated ids are appended to it.
GenerationResult generate(Session &session, sampling::Sampler &sampler,
                          std::span<const int32_t> prompt, const GenerationOptions &options,
                          std::vector<int32_t> &history, const GenerationCallbacks &callbacks = {});

} // namespace greta::engine
