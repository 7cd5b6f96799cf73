#include "runtime/synth/model_shape.h"

#include "runtime/support/error.h"

#include <fmt/ranges.h>

#include <array>
#include <cmath>

namespace greta::synth {
namespace {

struct Preset {
  std::string_view name;
  ModelShape shape;
};

// Rows are whole multiples of 256 (the K-quant block) in every preset, so each is valid in every
// quant mix. Fields not named keep ModelShape's defaults (rope theta 500000, RMS epsilon 1e-5,
// untied, no RoPE scaling).
const std::array<Preset, 3> &presets() {
  static const std::array<Preset, 3> table = {
      // Small enough that a test writes, loads and runs it in milliseconds, yet with GQA (2 query
      // heads per KV head), two layers and untied output so every tensor kind is present. The
      // vocabulary is the synthetic tokenizer's own size.
      Preset{"tiny", ModelShape{.layers = 2, .dim = 256, .heads = 4, .kvHeads = 2, .ffn = 512,
                                .vocabSize = 0, .context = 2048, .llama3 = {}}},
      // meta-llama/Llama-3.2-1B config.json.
      Preset{"llama3-1b",
             ModelShape{.layers = 16, .dim = 2048, .heads = 32, .kvHeads = 8, .ffn = 8192,
                        .vocabSize = 128256, .context = 131072, .tiedEmbeddings = true,
                        .ropeScaling = RopeScaling::Llama3, .llama3 = {.factor = 32.0}}},
      // meta-llama/Meta-Llama-3-8B config.json.
      Preset{"llama3-8b", ModelShape{.layers = 32, .dim = 4096, .heads = 32, .kvHeads = 8,
                                     .ffn = 14336, .vocabSize = 128256, .context = 8192,
                                     .llama3 = {}}},
  };
  return table;
}

void requirePositive(std::string_view field, uint64_t value) {
  if (value == 0)
    fail("model shape: {} must be positive, got 0", field);
}

} // namespace

ModelShape presetShape(std::string_view name) {
  for (const Preset &preset : presets())
    if (preset.name == name)
      return preset.shape;
  fail("unknown preset '{}' (known: {})", name, fmt::join(presetNames(), ", "));
}

std::vector<std::string> presetNames() {
  std::vector<std::string> names;
  for (const Preset &preset : presets())
    names.emplace_back(preset.name);
  return names;
}

void validateShape(const ModelShape &s) {
  requirePositive("layers", s.layers);
  requirePositive("dim", s.dim);
  requirePositive("heads", s.heads);
  requirePositive("kv-heads", s.kvHeads);
  requirePositive("ffn", s.ffn);
  requirePositive("context", s.context);
  if (s.dim % s.heads != 0)
    fail("model shape: dim {} is not a multiple of heads {}", s.dim, s.heads);
  if (s.heads % s.kvHeads != 0)
    fail("model shape: heads {} is not a multiple of kv-heads {}", s.heads, s.kvHeads);
  if (s.headDim() % 2 != 0)
    fail("model shape: head dimension {} (dim {} / heads {}) must be even for RoPE", s.headDim(),
         s.dim, s.heads);
  if (!(s.ropeTheta > 1.0f) || !std::isfinite(s.ropeTheta))
    fail("model shape: rope-theta {} must be a finite number > 1", s.ropeTheta);
  if (!(s.rmsEps > 0.0f) || !std::isfinite(s.rmsEps))
    fail("model shape: rms epsilon {} must be a finite number > 0", s.rmsEps);
  if (s.ropeScaling == RopeScaling::Llama3) {
    const Llama3RopeScaling &r = s.llama3;
    if (!(r.factor >= 1.0) || !std::isfinite(r.factor))
      fail("model shape: rope scaling factor {} must be a finite number >= 1", r.factor);
    if (!(r.lowFreqFactor > 0.0) || !(r.highFreqFactor > r.lowFreqFactor) ||
        !std::isfinite(r.highFreqFactor))
      fail("model shape: rope scaling needs 0 < low-freq-factor < high-freq-factor, got {} and {}",
           r.lowFreqFactor, r.highFreqFactor);
    requirePositive("rope original context", r.originalContext);
  }
}

} // namespace greta::synth
