// Tests of greta-synth's files: they load, carry what the importer needs, are byte-identical
// across runs, thread counts and the file/in-memory paths, match pinned hashes, and their weights
// have the planned statistics.

#include "runtime/formats/gguf.h"
#include "runtime/formats/quant.h"
#include "runtime/synth/kquant_synth.h"
#include "runtime/synth/prng.h"
#include "runtime/synth/synth_model.h"
#include "runtime/synth/tensor_prefetcher.h"
#include "runtime/synth/tensor_synth.h"
#include "test/unit/gguf_test_support.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace greta::synth {
namespace {

const std::string kTool = GRETA_BIN_DIR "/greta-synth";

SynthOptions tinyOptions(QuantMix quant, unsigned threads = 1) {
  SynthOptions options;
  options.shape = presetShape("tiny");
  options.quant = quant;
  options.threads = threads;
  options.name = "greta-synth-tiny";
  return options;
}

uint64_t hashOf(const std::vector<uint8_t> &bytes) {
  return fnv1a64(std::string_view(reinterpret_cast<const char *>(bytes.data()), bytes.size()));
}

std::vector<uint8_t> readFile(const std::filesystem::path &path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<float> dequantized(const GgufTensorInfo &tensor) {
  std::vector<float> values(tensor.elements());
  dequantizeRow(tensor.type, tensor.data, values);
  return values;
}

struct Moments {
  double mean = 0, stddev = 0;
  size_t nonZero = 0;
};

Moments momentsOf(const std::vector<float> &values) {
  Moments m;
  double sum = 0, sum2 = 0;
  for (float v : values) {
    sum += v;
    sum2 += static_cast<double>(v) * v;
    m.nonZero += v != 0.0f;
  }
  m.mean = sum / values.size();
  m.stddev = std::sqrt(sum2 / values.size() - m.mean * m.mean);
  return m;
}

class TempDir {
public:
  TempDir() : path_(std::filesystem::path(::testing::TempDir()) /
                    ("synth_test_" + std::to_string(::getpid()))) {
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::filesystem::path operator/(const std::string &name) const { return path_ / name; }

private:
  std::filesystem::path path_;
};

// Tests that a tiny model in every quant mix loads and carries the hyper-parameters, tokenizer
// and tensors the importer reads, with sizes matching the plan.
TEST(SynthModel, TinyModelsLoadWithImporterMetadata) {
  for (QuantMix quant : {QuantMix::F32, QuantMix::F16, QuantMix::Q8_0, QuantMix::Q4_K_M}) {
    SCOPED_TRACE(std::string(nameOf(quant)));
    const ModelPlan plan = planModel(tinyOptions(quant));
    const std::vector<uint8_t> bytes = synthesizeToBytes(tinyOptions(quant));
    EXPECT_EQ(bytes.size(), plan.fileBytes);
    const GgufFile file = GgufFile::parse(bytes, "tiny.gguf");
    EXPECT_EQ(file.requireString("general.architecture"), "llama");
    EXPECT_EQ(file.requireUInt("llama.block_count"), 2u);
    EXPECT_EQ(file.requireUInt("llama.embedding_length"), 256u);
    EXPECT_EQ(file.requireUInt("llama.feed_forward_length"), 512u);
    EXPECT_EQ(file.requireUInt("llama.attention.head_count"), 4u);
    EXPECT_EQ(file.requireUInt("llama.attention.head_count_kv"), 2u);
    EXPECT_EQ(file.requireUInt("llama.context_length"), 2048u);
    EXPECT_EQ(file.requireUInt("llama.rope.dimension_count"), 64u);
    EXPECT_EQ(file.requireFloat("llama.rope.freq_base"), 500000.0);
    EXPECT_FLOAT_EQ(file.requireFloat("llama.attention.layer_norm_rms_epsilon"), 1e-5f);
    EXPECT_EQ(file.requireUInt("general.file_type"), llamaFileType(quant));
    EXPECT_EQ(file.requireUInt("general.quantization_version"), 2u);
    EXPECT_EQ(file.requireString("tokenizer.ggml.model"), "gpt2");
    EXPECT_EQ(file.requireString("tokenizer.ggml.pre"), "llama-bpe");
    const uint64_t vocab = file.requireUInt("llama.vocab_size");
    EXPECT_EQ(file.find("tokenizer.ggml.tokens")->array()->elements.size(), vocab);
    EXPECT_LT(file.requireUInt("tokenizer.ggml.bos_token_id"), vocab);
    EXPECT_LT(file.requireUInt("tokenizer.ggml.eos_token_id"), vocab);
    EXPECT_TRUE(file.getString("tokenizer.chat_template").has_value());

    ASSERT_EQ(file.tensors().size(), plan.tensors.size());
    for (size_t i = 0; i < plan.tensors.size(); ++i) {
      EXPECT_EQ(file.tensors()[i].name, plan.tensors[i].name);
      EXPECT_EQ(file.tensors()[i].type, plan.tensors[i].type);
      EXPECT_EQ(file.tensors()[i].dims, plan.tensors[i].dims);
    }
    EXPECT_EQ(file.requireTensor("token_embd.weight").dims, (std::vector<uint64_t>{256, vocab}));
    EXPECT_EQ(file.requireTensor("output.weight").dims, (std::vector<uint64_t>{256, vocab}));
    EXPECT_EQ(file.requireTensor("blk.1.attn_k.weight").dims, (std::vector<uint64_t>{256, 128}));
  }
}

// Tests that the same options give the same bytes, whatever the thread count, and that the
// prefetching file writer gives exactly the in-memory bytes.
TEST(SynthModel, BytesDoNotDependOnRunOrThreads) {
  TempDir dir;
  for (QuantMix quant : {QuantMix::F32, QuantMix::Q8_0, QuantMix::Q4_K_M}) {
    SCOPED_TRACE(std::string(nameOf(quant)));
    SynthOptions options = tinyOptions(quant, 1);
    options.shape.vocabSize = 5000; // several chunks per token_embd/output
    const std::vector<uint8_t> one = synthesizeToBytes(options);
    EXPECT_EQ(synthesizeToBytes(options), one);
    options.threads = 3;
    EXPECT_EQ(synthesizeToBytes(options), one);
    writeModel(options, dir / "model.gguf");
    EXPECT_EQ(readFile(dir / "model.gguf"), one);
    options.seed = 1;
    EXPECT_NE(synthesizeToBytes(options), one);
  }
}

// Tests that the tiny files' bytes are pinned: any change of the generator, the sampling, the
// K-quant synthesis, the vocabulary or the layout on any machine or compiler is caught here.
// (Update the constants only for an intended change of greta-synth's output.)
TEST(SynthModel, PinnedHashes) {
  EXPECT_EQ(hashOf(synthesizeToBytes(tinyOptions(QuantMix::F32))), 0x4b23c4c619363ef0ull)
      << "f32";
  EXPECT_EQ(hashOf(synthesizeToBytes(tinyOptions(QuantMix::Q4_K_M))), 0xdeb8d61b60c967deull)
      << "q4_k_m";
}

// Tests that f32 weights have the planned scale (1/sqrt(row length)), mean 0, hardly a zero, and that
// norms scatter around 1; and that f16/q8_0 hold the same weights as f32 for the same seed.
TEST(SynthModel, FloatWeightStatistics) {
  const std::vector<uint8_t> f32 = synthesizeToBytes(tinyOptions(QuantMix::F32));
  const std::vector<uint8_t> q8 = synthesizeToBytes(tinyOptions(QuantMix::Q8_0));
  const GgufFile f32File = GgufFile::parse(f32, "f32");
  const GgufFile q8File = GgufFile::parse(q8, "q8_0");
  for (const GgufTensorInfo &tensor : f32File.tensors()) {
    SCOPED_TRACE(tensor.name);
    const std::vector<float> values = dequantized(tensor);
    const Moments m = momentsOf(values);
    // An exact 0 is possible (the sampler's centre has p = 7.5e-6), many of them are not.
    EXPECT_GT(m.nonZero, values.size() - 10);
    if (tensor.dims.size() == 1) { // norms
      EXPECT_NEAR(m.mean, 1.0, 0.02);
      EXPECT_NEAR(m.stddev, 0.05, 0.01);
      continue;
    }
    const double target = 1.0 / std::sqrt(static_cast<double>(tensor.dims[0]));
    EXPECT_NEAR(m.stddev / target, 1.0, 0.03);
    EXPECT_NEAR(m.mean / target, 0.0, 0.03);
    // Q8_0 of the same seed: the same weights within Q8_0's rounding (scale/2 = max/254).
    const std::vector<float> q = dequantized(q8File.requireTensor(tensor.name));
    double maxError = 0;
    for (size_t i = 0; i < values.size(); ++i)
      maxError = std::max(maxError, std::abs(double(values[i]) - q[i]));
    EXPECT_LT(maxError, 5.0 * target / 127 * 0.6);
  }
}

// Tests that synthesized Q4_K and Q6_K blocks dequantize (with the reference dequantizer) to
// values of mean ~0 and the target deviation, using every code and several scales.
TEST(SynthModel, KQuantBlockStatistics) {
  for (TensorType type : {TensorType::Q4_K, TensorType::Q6_K}) {
    SCOPED_TRACE(std::string(nameOf(type)));
    for (float target : {0.0625f, 0.0084f, 1.5f}) {
      constexpr uint64_t kValues = 256 * 1024;
      std::vector<uint8_t> blocks(rowBytes(type, kValues, "test"));
      RandomStream random(7);
      synthesizeKQuantBlocks(type, target, random, blocks);
      std::vector<float> values(kValues);
      dequantizeRow(type, blocks, values);
      const Moments m = momentsOf(values);
      EXPECT_NEAR(m.stddev / target, 1.0, 0.04) << target;
      EXPECT_NEAR(m.mean / target, 0.0, 0.01) << target;
      std::set<float> distinct(values.begin(), values.end());
      EXPECT_GT(distinct.size(), 200u);
      // Normal-like: about 68% within one deviation, none beyond 4.
      size_t within = 0, beyond = 0;
      for (float v : values) {
        within += std::abs(v - m.mean) < m.stddev;
        beyond += std::abs(v - m.mean) > 4 * m.stddev;
      }
      EXPECT_NEAR(double(within) / kValues, 0.68, 0.05);
      EXPECT_EQ(beyond, 0u);
    }
  }
}

// Tests that the Q4_K tensors of a tiny q4_k_m model have their planned deviation.
TEST(SynthModel, Q4KMModelStatistics) {
  const std::vector<uint8_t> bytes = synthesizeToBytes(tinyOptions(QuantMix::Q4_K_M));
  const GgufFile file = GgufFile::parse(bytes, "q4_k_m");
  for (const char *name : {"token_embd.weight", "blk.0.attn_q.weight", "blk.0.ffn_down.weight",
                           "blk.1.ffn_down.weight", "output.weight"}) {
    const GgufTensorInfo &tensor = file.requireTensor(name);
    const Moments m = momentsOf(dequantized(tensor));
    const double target = 1.0 / std::sqrt(static_cast<double>(tensor.dims[0]));
    EXPECT_NEAR(m.stddev / target, 1.0, 0.04) << name;
    EXPECT_NEAR(m.mean / target, 0.0, 0.03) << name;
  }
  EXPECT_EQ(file.requireTensor("blk.1.ffn_down.weight").type, TensorType::Q6_K);
}

// Tests that Llama-3 scaling writes rope_freqs.weight with the planned factors.
TEST(SynthModel, RopeFreqsTensorWritten) {
  SynthOptions options = tinyOptions(QuantMix::Q4_K_M);
  options.shape.ropeScaling = RopeScaling::Llama3;
  options.shape.llama3.factor = 32.0;
  const std::vector<uint8_t> bytes = synthesizeToBytes(options);
  const GgufFile file = GgufFile::parse(bytes, "rope");
  const GgufTensorInfo &rope = file.requireTensor("rope_freqs.weight");
  EXPECT_EQ(rope.type, TensorType::F32);
  EXPECT_EQ(rope.dims, (std::vector<uint64_t>{32}));
  const std::vector<float> values = dequantized(rope);
  EXPECT_EQ(values, planModel(options).tensors.front().values);
  EXPECT_EQ(values.front(), 1.0f);
  EXPECT_EQ(values.back(), 32.0f);
}

// Tests that the prefetcher gives the same bytes when tensors are asked for out of order or
// twice, as when made directly.
TEST(SynthModel, PrefetcherOutOfOrder) {
  SynthOptions options = tinyOptions(QuantMix::Q4_K_M);
  const ModelPlan plan = planModel(options);
  TensorPrefetcher prefetcher(plan, options.seed, 2, /*lookaheadTensors=*/2,
                              /*lookaheadBytes=*/1 << 20);
  for (size_t index : {size_t{3}, size_t{1}, size_t{3}, size_t{4}, plan.tensors.size() - 1}) {
    const PlannedTensor &tensor = plan.tensors[index];
    std::vector<uint8_t> viaPrefetcher(tensor.bytes), direct(tensor.bytes);
    prefetcher.take(index, viaPrefetcher);
    synthesizeTensor(tensor, options.seed, 1, direct);
    EXPECT_EQ(viaPrefetcher, direct) << tensor.name;
  }
}

// Tests the tool as a user runs it: the file equals the library's bytes for every --threads, and
// bad arguments exit 1 with an error naming the problem.
TEST(SynthModel, ToolWritesTheSameBytes) {
  TempDir dir;
  const std::vector<uint8_t> expected = synthesizeToBytes(tinyOptions(QuantMix::Q4_K_M));
  for (int threads : {1, 2}) {
    const auto path = dir / ("t" + std::to_string(threads) + ".gguf");
    const std::string command = kTool + " -o " + path.string() +
                                " --preset tiny --quant q4_k_m --threads " +
                                std::to_string(threads) + " 2>/dev/null";
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
    EXPECT_EQ(readFile(path), expected) << "--threads " << threads;
  }
  const auto log = dir / "err.txt";
  const std::string bad = kTool + " -o " + (dir / "bad.gguf").string() +
                          " --preset tiny --quant q4_k_m --ffn 300 2>" + log.string();
  EXPECT_EQ(WEXITSTATUS(std::system(bad.c_str())), 1);
  const std::vector<uint8_t> message = readFile(log);
  const std::string text(message.begin(), message.end());
  EXPECT_NE(text.find("blk.0.ffn_down.weight"), std::string::npos) << text;
  EXPECT_NE(text.find("300"), std::string::npos) << text;
  EXPECT_FALSE(std::filesystem::exists(dir / "bad.gguf"));
}

} // namespace
} // namespace greta::synth
