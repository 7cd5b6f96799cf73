//===- model_params.cpp - A Llama GGUF's hyper-parameters as ModelParams ----===//
#include "runtime/bundle/model_params.h"

#include "runtime/support/error.h"

#include <limits>

namespace greta::bundle {
namespace {

/// llama.cpp's default when the file has no llama.rope.freq_base.
constexpr double kDefaultRopeTheta = 10000.0;
/// llama.cpp's default RMSNorm epsilon.
constexpr double kDefaultRmsEps = 1e-5;

uint32_t requireU32(const GgufFile &gguf, const std::string &key) {
  const uint64_t value = gguf.requireUInt(key);
  if (value == 0 || value > std::numeric_limits<uint32_t>::max())
    fail("{}: key '{}' = {} is not in [1, 2^32)", gguf.path(), key, value);
  return static_cast<uint32_t>(value);
}

} // namespace

ModelParams readLlamaModelParams(const GgufFile &gguf) {
  ModelParams p;
  p.arch = gguf.requireString("general.architecture");
  if (p.arch != "llama")
    fail("{}: general.architecture is '{}'; only 'llama' models are supported", gguf.path(),
         p.arch);
  const std::string prefix = p.arch + ".";
  p.layers = requireU32(gguf, prefix + "block_count");
  p.dim = requireU32(gguf, prefix + "embedding_length");
  p.heads = requireU32(gguf, prefix + "attention.head_count");
  const std::string kvHeadsKey = prefix + "attention.head_count_kv";
  p.kvHeads = gguf.getUInt(kvHeadsKey) ? requireU32(gguf, kvHeadsKey) : p.heads;
  p.ffn = requireU32(gguf, prefix + "feed_forward_length");
  p.context = requireU32(gguf, prefix + "context_length");
  p.headDim = gguf.getUInt(prefix + "attention.key_length")
                  ? requireU32(gguf, prefix + "attention.key_length")
                  : p.dim / p.heads;
  p.ropeTheta = gguf.getFloat(prefix + "rope.freq_base").value_or(kDefaultRopeTheta);
  p.rmsEps = gguf.getFloat(prefix + "attention.layer_norm_rms_epsilon").value_or(kDefaultRmsEps);
  const GgufTensorInfo &embedding = gguf.requireTensor(kTokenEmbeddingTensor);
  if (embedding.dims.size() != 2 || embedding.dims[1] > std::numeric_limits<uint32_t>::max())
    fail("{}: tensor '{}' must be 2-D [dim, vocab]", gguf.path(), kTokenEmbeddingTensor);
  p.vocab = static_cast<uint32_t>(embedding.dims[1]);
  if (gguf.findTensor(kRopeFreqsTensor))
    p.ropeFreqs = std::string(kRopeFreqsTensor);
  p.tiedEmbeddings = gguf.findTensor(kOutputTensor) == nullptr;
  return p;
}

} // namespace greta::bundle
