//===- greta_synth.cpp - Write a synthetic Llama model as GGUF -------------===//
//
// `greta-synth -o FILE.gguf --preset tiny|llama3-1b|llama3-8b [--quant ...]` writes a random
// Llama model with a real model's metadata, tensor layout and quant mix, for tests and
// benchmarks that must not depend on downloaded weights. Shape flags override the preset. The
// same arguments give a byte-identical file on any machine and with any --threads.
//
//===----------------------------------------------------------------------===//
#include "runtime/support/error.h"
#include "runtime/support/interrupt.h"
#include "runtime/synth/synth_model.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <cstdio>
#include <unistd.h>

namespace greta::synth {
namespace {

constexpr double kMegabyte = 1e6;

constexpr std::string_view kDescription = R"(Writes a synthetic Llama model as GGUF.

Weights are random but scaled like a trained model's: matrices ~ normal(0, 1/sqrt(row length)),
norms 1 + normal(0, 0.05). Normal samples are Irwin-Hall sums of 8 uniform 16-bit integers, from
xoshiro256** streams seeded per (seed, tensor, chunk of 2^18 values), so the bytes never depend
on the machine or the thread count. F32/F16/Q8_0 tensors are encoded from those samples (one seed:
the same weights at three precisions); Q4_K/Q6_K blocks are synthesized directly (reference
K-quant quantization is far slower than a disk): codes from a discretised normal, random
sub-block scales, the block scale chosen so the values dequantize with mean 0 and the target
deviation.

Without --vocab the model carries a small synthetic Llama-3-style tokenizer (gpt2 / llama-bpe:
256 byte tokens, merges learned from built-in English text, Llama 3's chat special tokens and
chat template), padded with unused tokens to --vocab-size. With --vocab every tokenizer.* key is
copied from that GGUF and the vocabulary size follows it. Quant mixes follow llama.cpp
(q4_k_m: output and, in the "more bits" layers, attn_v and ffn_down in Q6_K, the rest Q4_K;
norms are F32 in every mix). Row lengths must be multiples of the block size (256 for q4_k_m,
32 for q8_0); other shapes are refused, not quantized differently.)";

struct Flags {
  std::string output;
  std::string preset = "tiny";
  std::string quant = "f32";
  std::string vocab;
  std::string name;
  std::string ropeScaling;
  uint64_t seed = 0;
  unsigned threads = 0;
  ModelShape shape; // overrides, applied only where the flag was given
};

/// Applies `value` to `field` when `option` was given on the command line.
template <typename T> void applyIfGiven(const CLI::Option *option, T &field, const T &value) {
  if (option->count() > 0)
    field = value;
}

class ProgressLine {
public:
  explicit ProgressLine(bool enabled) : enabled_(enabled) {}
  void operator()(uint64_t written, uint64_t total) {
    if (!enabled_ || total == 0)
      return;
    const int percent = static_cast<int>(written * 100 / total);
    if (percent == lastPercent_)
      return;
    lastPercent_ = percent;
    std::fprintf(stderr, "\rgreta-synth: %.0f / %.0f MB (%d%%)", written / kMegabyte,
                 total / kMegabyte, percent);
    std::fflush(stderr);
    if (written == total)
      std::fputc('\n', stderr);
  }

private:
  bool enabled_;
  int lastPercent_ = -1;
};

int run(int argc, char **argv) {
  CLI::App app{std::string(kDescription), "greta-synth"};
  Flags f;
  app.add_option("-o,--output", f.output, "GGUF file to write")->required();
  app.add_option("--preset", f.preset, fmt::format("{}", fmt::join(presetNames(), "|")))
      ->capture_default_str();
  app.add_option("--quant", f.quant, fmt::format("{}", fmt::join(quantMixNames(), "|")))
      ->capture_default_str();
  app.add_option("--vocab", f.vocab, "vocabulary GGUF whose tokenizer.* keys to copy")
      ->check(CLI::ExistingFile);
  app.add_option("--seed", f.seed, "random seed")->capture_default_str();
  app.add_option("--threads", f.threads, "generator threads (0: all cores); never changes bytes")
      ->capture_default_str();
  app.add_option("--name", f.name, "general.name (default: greta-synth-PRESET)");

  ModelShape &s = f.shape;
  auto *layers = app.add_option("--layers", s.layers, "number of blocks");
  auto *dim = app.add_option("--dim", s.dim, "embedding length (n_embd)");
  auto *heads = app.add_option("--heads", s.heads, "attention heads");
  auto *kvHeads = app.add_option("--kv-heads", s.kvHeads, "key/value heads (GQA)");
  auto *ffn = app.add_option("--ffn", s.ffn, "feed-forward length");
  auto *vocabSize = app.add_option("--vocab-size", s.vocabSize, "vocabulary size");
  auto *ropeTheta = app.add_option("--rope-theta", s.ropeTheta, "RoPE frequency base");
  auto *context = app.add_option("--context", s.context, "context length");
  auto *rmsEps = app.add_option("--rms-eps", s.rmsEps, "RMSNorm epsilon");
  bool tiedFlag = false, untiedFlag = false;
  auto *tied = app.add_flag("--tied-embeddings", tiedFlag,
                            "no output.weight: token_embd is the LM head");
  auto *untied =
      app.add_flag("--no-tied-embeddings", untiedFlag, "separate output.weight")->excludes(tied);
  auto *ropeScaling = app.add_option("--rope-scaling", f.ropeScaling,
                                     "none|llama3 (llama3: writes rope_freqs.weight)")
                          ->check(CLI::IsMember({"none", "llama3"}));
  auto *factor = app.add_option("--rope-scaling-factor", s.llama3.factor, "llama3 factor (8)");
  auto *lowFreq = app.add_option("--rope-low-freq-factor", s.llama3.lowFreqFactor, "(1)");
  auto *highFreq = app.add_option("--rope-high-freq-factor", s.llama3.highFreqFactor, "(4)");
  auto *originalContext = app.add_option("--rope-original-context", s.llama3.originalContext,
                                         "original_max_position_embeddings (8192)");
  CLI11_PARSE(app, argc, argv);

  SynthOptions options;
  options.shape = presetShape(f.preset);
  ModelShape &shape = options.shape;
  applyIfGiven(layers, shape.layers, s.layers);
  applyIfGiven(dim, shape.dim, s.dim);
  applyIfGiven(heads, shape.heads, s.heads);
  applyIfGiven(kvHeads, shape.kvHeads, s.kvHeads);
  applyIfGiven(ffn, shape.ffn, s.ffn);
  applyIfGiven(ropeTheta, shape.ropeTheta, s.ropeTheta);
  applyIfGiven(context, shape.context, s.context);
  applyIfGiven(rmsEps, shape.rmsEps, s.rmsEps);
  applyIfGiven(tied, shape.tiedEmbeddings, true);
  applyIfGiven(untied, shape.tiedEmbeddings, false);
  applyIfGiven(ropeScaling, shape.ropeScaling,
           f.ropeScaling == "llama3" ? RopeScaling::Llama3 : RopeScaling::None);
  applyIfGiven(factor, shape.llama3.factor, s.llama3.factor);
  applyIfGiven(lowFreq, shape.llama3.lowFreqFactor, s.llama3.lowFreqFactor);
  applyIfGiven(highFreq, shape.llama3.highFreqFactor, s.llama3.highFreqFactor);
  applyIfGiven(originalContext, shape.llama3.originalContext, s.llama3.originalContext);
  // A vocabulary file decides the size unless --vocab-size insists (then they must agree).
  if (!f.vocab.empty())
    shape.vocabSize = 0;
  applyIfGiven(vocabSize, shape.vocabSize, s.vocabSize);

  options.quant = parseQuantMix(f.quant);
  options.vocabPath = f.vocab;
  options.seed = f.seed;
  options.threads = f.threads;
  options.name = f.name.empty() ? "greta-synth-" + f.preset : f.name;

  const auto start = std::chrono::steady_clock::now();
  ProgressLine progress(isatty(STDERR_FILENO) != 0);
  const ModelPlan plan =
      writeModel(options, f.output, [&](uint64_t done, uint64_t total) { progress(done, total); });
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "greta-synth: wrote %s: %zu tensors, %llu bytes in %.2f s (%.0f MB/s)\n",
               f.output.c_str(), plan.tensors.size(),
               static_cast<unsigned long long>(plan.fileBytes), seconds,
               plan.fileBytes / kMegabyte / std::max(seconds, 1e-9));
  return 0;
}

} // namespace
} // namespace greta::synth

int main(int argc, char **argv) {
  // Ctrl-C stops at the next tensor; the temporary file is removed and -o is left untouched.
  greta::installInterruptHandler();
  try {
    return greta::synth::run(argc, argv);
  } catch (const greta::Interrupted &e) {
    std::fprintf(stderr, "greta-synth: %s; nothing written\n", e.what());
    return greta::kInterruptedExitStatus;
  } catch (const std::exception &e) { // greta::Error, and I/O or allocation failures
    std::fprintf(stderr, "greta-synth: error: %s\n", e.what());
    return 1;
  }
}
