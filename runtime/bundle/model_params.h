//===- model_params.h - A Llama GGUF's hyper-parameters as ModelParams ------===//
//
// What `model` in manifest.json holds, read from the GGUF's `llama.*` keys and tensor table the
// way llama.cpp reads them. The compiler's importer and the tests' plan fixture both start here.
//
// Thread-safety: pure function.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/bundle/manifest.h"
#include "runtime/formats/gguf.h"

namespace greta::bundle {

/// Tensor names of GGUF Llama models that ModelParams refers to.
inline constexpr std::string_view kRopeFreqsTensor = "rope_freqs.weight";
inline constexpr std::string_view kOutputTensor = "output.weight";
inline constexpr std::string_view kTokenEmbeddingTensor = "token_embd.weight";

/// Reads the hyper-parameters of a Llama GGUF. Throws greta::Error naming the file and key when
/// general.architecture is not "llama" or a required key is missing. head_dim is
/// llama.attention.key_length when present, else dim / heads; vocab is the token embedding's
/// row count; rope_freqs is set when the file has rope_freqs.weight; tied_embeddings when it has
/// no output.weight.
ModelParams readLlamaModelParams(const GgufFile &gguf);

} // namespace greta::bundle
