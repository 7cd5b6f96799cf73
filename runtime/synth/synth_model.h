//===- synth_model.h - Write a synthetic Llama model as GGUF ---------------===//
//
// The entry points of greta-synth: a random Llama model with real models' metadata, tensor
// names, shapes and quant mixes, byte-identical for the same options on any machine and with
// any number of threads. planModel() (model_plan.h) says what the file holds; these functions
// make it.
//
// Thread-safety: independent calls may run concurrently.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/synth/model_plan.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace greta::synth {

/// Progress callback: (bytes written, total bytes).
using SynthProgress = std::function<void(uint64_t, uint64_t)>;

/// Writes the model of `options` to `path` (atomically: temporary name, then rename). Tensors
/// are made on options.threads threads ahead of the writer, so generation overlaps the writes.
/// Returns the plan it wrote.
ModelPlan writeModel(const SynthOptions &options, const std::string &path,
                     const SynthProgress &progress = {});

/// The same file's bytes, in memory (for tests and small models).
std::vector<uint8_t> synthesizeToBytes(const SynthOptions &options);

/// options.threads, or the hardware thread count when it is 0 (at least 1).
unsigned resolveThreads(unsigned threads);

} // namespace greta::synth
