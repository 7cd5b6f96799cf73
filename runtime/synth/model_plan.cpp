#include "runtime/synth/model_plan.h"

#include "runtime/formats/gguf_layout.h"
#include "runtime/support/checked_math.h"
#include "runtime/support/error.h"
#include "runtime/synth/rope_scaling.h"
#include "runtime/synth/tokenizer_metadata.h"

#include <fmt/format.h>

#include <cmath>

namespace greta::synth {
namespace {

constexpr std::string_view kArchitecture = "llama";
// ggml's GGML_QNT_VERSION, written by every llama.cpp converter and quantizer.
constexpr uint32_t kQuantizationVersion = 2;
// RMSNorm weights of trained Llamas scatter around 1; enough noise that a wrong index shows.
constexpr float kNormNoiseStddev = 0.05f;

// GGUF strings and arrays carry a 64-bit length/count; arrays also a 32-bit element type; every
// metadata entry a 32-bit value type; every tensor entry a 32-bit dimension count, 64-bit
// dimensions, a 32-bit type and a 64-bit offset.
constexpr uint64_t kLengthBytes = 8;
constexpr uint64_t kTypeBytes = 4;
constexpr uint64_t kDimBytes = 8;
constexpr uint64_t kOffsetBytes = 8;

uint64_t encodedBytes(const GgufValue &value) {
  if (const std::string *text = value.string())
    return kLengthBytes + text->size();
  if (const GgufArray *array = value.array()) {
    uint64_t bytes = kTypeBytes + kLengthBytes;
    for (const GgufValue &element : array->elements)
      bytes += encodedBytes(element);
    return bytes;
  }
  return gguf_layout::scalarBytes(value.type());
}

uint64_t fileBytesOf(const ModelPlan &plan) {
  uint64_t bytes = gguf_layout::kHeaderBytes;
  for (const auto &[key, value] : plan.metadata)
    bytes += kLengthBytes + key.size() + kTypeBytes + encodedBytes(value);
  for (const PlannedTensor &tensor : plan.tensors)
    bytes += kLengthBytes + tensor.name.size() + kTypeBytes + kDimBytes * tensor.dims.size() +
             kTypeBytes + kOffsetBytes;
  bytes = alignUp(bytes, plan.alignment, "synthetic model header");
  for (const PlannedTensor &tensor : plan.tensors)
    bytes = alignUp(checkedAdd(bytes, tensor.bytes, "synthetic model size"), plan.alignment,
                    "synthetic model size");
  return bytes;
}

/// Adds tensors in file order, checking that each row is whole blocks of its type.
class TensorList {
public:
  TensorList(const ModelShape &shape, QuantMix quant) : shape_(shape), quant_(quant) {}

  void add(std::string name, TensorRole role, std::vector<uint64_t> dims, uint32_t layer = 0) {
    PlannedTensor tensor;
    tensor.type = tensorTypeFor(quant_, role, layer, shape_.layers, !shape_.tiedEmbeddings);
    const TensorTypeTraits &traits = traitsOf(tensor.type);
    if (dims[0] % traits.blockElements != 0)
      fail("tensor '{}': row length {} is not a multiple of the {} block size {} (quant {} needs "
           "row lengths that are multiples of {}; greta-synth does not substitute types)",
           name, dims[0], traits.name, traits.blockElements, nameOf(quant_),
           traits.blockElements);
    tensor.bytes = gguf_layout::tensorBytes(tensor.type, dims, fmt::format("tensor '{}'", name));
    tensor.name = std::move(name);
    tensor.role = role;
    tensor.dims = std::move(dims);
    // Unit-variance activations in, unit-variance activations out, as trained weights keep
    // them roughly: deviation 1/sqrt(fan-in) (0.016 for dim 4096). sqrt is correctly rounded.
    tensor.stddev = role == TensorRole::Norm
                        ? kNormNoiseStddev
                        : 1.0f / std::sqrt(static_cast<float>(tensor.dims[0]));
    tensors_.push_back(std::move(tensor));
  }

  std::vector<PlannedTensor> take() { return std::move(tensors_); }

private:
  const ModelShape &shape_;
  QuantMix quant_;
  std::vector<PlannedTensor> tensors_;
};

std::vector<PlannedTensor> planTensors(const ModelShape &s, QuantMix quant) {
  const uint64_t dim = s.dim, ffn = s.ffn, vocab = s.vocabSize;
  const uint64_t kvDim = uint64_t{s.kvHeads} * s.headDim();
  TensorList list(s, quant);
  if (s.ropeScaling == RopeScaling::Llama3)
    list.add("rope_freqs.weight", TensorRole::RopeFreqs, {s.headDim() / 2});
  list.add("token_embd.weight", TensorRole::TokenEmbedding, {dim, vocab});
  for (uint32_t i = 0; i < s.layers; ++i) {
    auto name = [i](std::string_view what) { return fmt::format("blk.{}.{}.weight", i, what); };
    list.add(name("attn_norm"), TensorRole::Norm, {dim}, i);
    list.add(name("attn_q"), TensorRole::AttnQ, {dim, dim}, i);
    list.add(name("attn_k"), TensorRole::AttnK, {dim, kvDim}, i);
    list.add(name("attn_v"), TensorRole::AttnV, {dim, kvDim}, i);
    list.add(name("attn_output"), TensorRole::AttnOutput, {dim, dim}, i);
    list.add(name("ffn_norm"), TensorRole::Norm, {dim}, i);
    list.add(name("ffn_gate"), TensorRole::FfnGate, {dim, ffn}, i);
    list.add(name("ffn_up"), TensorRole::FfnUp, {dim, ffn}, i);
    list.add(name("ffn_down"), TensorRole::FfnDown, {ffn, dim}, i);
  }
  list.add("output_norm.weight", TensorRole::Norm, {dim});
  if (!s.tiedEmbeddings)
    list.add("output.weight", TensorRole::Output, {dim, vocab});
  return list.take();
}

std::string llamaKey(std::string_view suffix) { return fmt::format("{}.{}", kArchitecture, suffix); }

/// The metadata llama.cpp's converter writes for a Llama model, in its order.
std::vector<std::pair<std::string, GgufValue>>
planMetadata(const ModelShape &s, const SynthOptions &options, TokenizerMetadata tokenizer) {
  std::vector<std::pair<std::string, GgufValue>> m;
  m.emplace_back("general.architecture", GgufValue::str(std::string(kArchitecture)));
  m.emplace_back("general.name", GgufValue::str(options.name));
  m.emplace_back(llamaKey("block_count"), GgufValue::u32(s.layers));
  m.emplace_back(llamaKey("context_length"), GgufValue::u32(s.context));
  m.emplace_back(llamaKey("embedding_length"), GgufValue::u32(s.dim));
  m.emplace_back(llamaKey("feed_forward_length"), GgufValue::u32(s.ffn));
  m.emplace_back(llamaKey("attention.head_count"), GgufValue::u32(s.heads));
  m.emplace_back(llamaKey("attention.head_count_kv"), GgufValue::u32(s.kvHeads));
  m.emplace_back(llamaKey("rope.freq_base"), GgufValue::f32(s.ropeTheta));
  m.emplace_back(llamaKey("attention.layer_norm_rms_epsilon"), GgufValue::f32(s.rmsEps));
  if (s.ropeScaling == RopeScaling::Llama3) {
    // llama.cpp's converter records Llama-3 scaling only as rope_freqs.weight (the factors its
    // RoPE applies). The parameters are kept for readers, under keys no loader interprets: a
    // `rope.scaling.factor` key would make llama.cpp apply linear scaling on top of the factors,
    // and it rejects a `rope.scaling.type` of "llama3". original_context_length is the standard
    // key (llama.cpp reads it only for YaRN).
    m.emplace_back(llamaKey("rope.scaling.original_context_length"),
                   GgufValue::u32(s.llama3.originalContext));
    m.emplace_back(llamaKey("rope.scaling.llama3_factor"),
                   GgufValue::f32(static_cast<float>(s.llama3.factor)));
    m.emplace_back(llamaKey("rope.scaling.llama3_low_freq_factor"),
                   GgufValue::f32(static_cast<float>(s.llama3.lowFreqFactor)));
    m.emplace_back(llamaKey("rope.scaling.llama3_high_freq_factor"),
                   GgufValue::f32(static_cast<float>(s.llama3.highFreqFactor)));
  }
  m.emplace_back("general.file_type", GgufValue::u32(llamaFileType(options.quant)));
  m.emplace_back(llamaKey("vocab_size"), GgufValue::u32(s.vocabSize));
  m.emplace_back(llamaKey("rope.dimension_count"), GgufValue::u32(s.headDim()));
  for (auto &entry : tokenizer.entries)
    m.push_back(std::move(entry));
  m.emplace_back("general.quantization_version", GgufValue::u32(kQuantizationVersion));
  return m;
}

} // namespace

ModelPlan planModel(const SynthOptions &options) {
  ModelShape shape = options.shape;
  validateShape(shape);
  TokenizerMetadata tokenizer;
  if (options.vocabPath.empty()) {
    tokenizer = syntheticTokenizer(shape.vocabSize);
  } else {
    tokenizer = copyTokenizer(options.vocabPath);
    if (shape.vocabSize != 0 && shape.vocabSize != tokenizer.vocabSize)
      fail("vocab-size {} differs from the {} tokens of vocabulary {}", shape.vocabSize,
           tokenizer.vocabSize, options.vocabPath);
  }
  shape.vocabSize = tokenizer.vocabSize;

  ModelPlan plan;
  plan.shape = shape;
  plan.alignment = gguf_layout::kDefaultAlignment;
  plan.tensors = planTensors(shape, options.quant);
  for (PlannedTensor &tensor : plan.tensors)
    if (tensor.role == TensorRole::RopeFreqs)
      tensor.values = llama3RopeFactors(shape);
  plan.metadata = planMetadata(shape, options, std::move(tokenizer));
  plan.fileBytes = fileBytesOf(plan);
  return plan;
}

} // namespace greta::synth
