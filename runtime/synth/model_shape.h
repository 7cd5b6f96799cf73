//===- model_shape.h - Hyper-parameters of a synthetic Llama model ---------===//
//
// The shape greta-synth builds: what llama.cpp reads from a Llama GGUF's `llama.*` keys, plus the
// Llama-3 RoPE scaling parameters. Presets give real models' shapes; every field can be
// overridden from the command line, and validateShape() checks the combination.
//
// Thread-safety: plain values.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace greta::synth {

enum class RopeScaling { None, Llama3 };

/// Llama-3.1 "llama3" RoPE frequency scaling (HF config `rope_scaling`).
struct Llama3RopeScaling {
  double factor = 8.0;           ///< Llama-3.1; Llama-3.2 1B/3B use 32
  double lowFreqFactor = 1.0;
  double highFreqFactor = 4.0;
  uint32_t originalContext = 8192; ///< `original_max_position_embeddings`
};

struct ModelShape {
  uint32_t layers = 0;
  uint32_t dim = 0;       ///< n_embd
  uint32_t heads = 0;
  uint32_t kvHeads = 0;
  uint32_t ffn = 0;       ///< feed_forward_length
  uint32_t vocabSize = 0; ///< 0: whatever the tokenizer has
  uint32_t context = 0;
  float ropeTheta = 500000.0f;
  float rmsEps = 1e-5f;
  bool tiedEmbeddings = false;
  RopeScaling ropeScaling = RopeScaling::None;
  Llama3RopeScaling llama3;

  uint32_t headDim() const { return heads == 0 ? 0 : dim / heads; }
};

/// The preset's shape; Error listing the known names otherwise.
ModelShape presetShape(std::string_view name);
/// Names accepted by presetShape, for --help.
std::vector<std::string> presetNames();

/// Error naming the field, its value and the rule when the shape cannot be a Llama model.
void validateShape(const ModelShape &shape);

} // namespace greta::synth
