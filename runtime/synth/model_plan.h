//===- model_plan.h - What a synthetic model file will contain -------------===//
//
// planModel() decides everything about a greta-synth file except the random bytes: metadata,
// tensor names, types, shapes and sizes, and the exact file size. Tests check the layout of
// llama3-8b (291 tensors, ~4.9 GB) from the plan without writing anything; the writer
// (synth_model.h) fills the planned tensors.
//
// Thread-safety: plain values.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/formats/gguf.h"
#include "runtime/synth/model_shape.h"
#include "runtime/synth/quant_mix.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace greta::synth {

struct SynthOptions {
  ModelShape shape;       ///< shape.vocabSize 0: take the tokenizer's size
  QuantMix quant = QuantMix::F32;
  std::string vocabPath;  ///< GGUF to copy tokenizer.* from; empty: synthetic tokenizer
  std::string name = "greta-synth"; ///< general.name
  uint64_t seed = 0;
  unsigned threads = 0;   ///< generator threads; 0: one per hardware thread. Never changes bytes.
};

struct PlannedTensor {
  std::string name;
  TensorRole role = TensorRole::Norm;
  TensorType type = TensorType::F32;
  std::vector<uint64_t> dims; ///< ggml order: dims[0] is the row length
  uint64_t bytes = 0;
  /// Matrices: the weights' standard deviation. Norms: the deviation of their noise around 1.
  float stddev = 0.0f;
  /// Fixed contents (rope_freqs.weight); empty for random tensors.
  std::vector<float> values;
};

struct ModelPlan {
  ModelShape shape;                                         ///< with the final vocabulary size
  std::vector<std::pair<std::string, GgufValue>> metadata;  ///< in file order
  std::vector<PlannedTensor> tensors;                       ///< in file order
  uint32_t alignment = 0;                                   ///< of tensor data in the file
  uint64_t fileBytes = 0;                                   ///< size of the written file
};

/// Plans the model of `options`: validates the shape, reads the vocabulary (if any), applies the
/// quant mix. Error (naming the tensor, its row length and the block size) when a row cannot be
/// stored in its type: greta-synth refuses rather than substituting another type.
ModelPlan planModel(const SynthOptions &options);

} // namespace greta::synth
