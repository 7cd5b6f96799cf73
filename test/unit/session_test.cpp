//===- session_test.cpp - Whole plans on the CPU backend -------------------===//
//
// Tiny greta-synth models compiled by the mock compiler and run through Session: decode must
// agree with prefill, every plan variant (fused, unfused, audits off, external weights, chunked
// prefill, any thread count) must give the same logits, and the context is enforced.
//
//===----------------------------------------------------------------------===//
#include "runtime/cpu/cpu_program.h"
#include "runtime/engine/session.h"
#include "runtime/sampling/sampler.h"
#include "runtime/support/memory_budget.h"
#include "runtime/synth/model_shape.h"

#include "test/unit/gguf_test_support.h"
#include "test/unit/support/llama_plan_fixture.h"
#include "test/unit/support/test_models.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

namespace greta::engine {
namespace {

using synth::QuantMix;

/// Prefill of N+1 tokens vs prefill of N then decode of 1, on the CPU in f32.
constexpr double kConsistencyTolerance = 1e-5;

std::vector<int32_t> promptTokens(size_t count, uint64_t vocab, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<int32_t> tokens(count);
  for (int32_t &t : tokens)
    t = static_cast<int32_t>(rng() % vocab);
  return tokens;
}

/// max |a - b| / max |b|.
double relativeError(std::span<const float> a, std::span<const float> b) {
  EXPECT_EQ(a.size(), b.size());
  double diff = 0, scale = 1e-30;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    diff = std::max(diff, double(std::abs(a[i] - b[i])));
    scale = std::max(scale, double(std::abs(b[i])));
  }
  return diff / scale;
}

std::vector<float> copy(std::span<const float> logits) { return {logits.begin(), logits.end()}; }

/// |a - b|₂ / |b|₂.
double relativeL2(std::span<const float> a, std::span<const float> b) {
  EXPECT_EQ(a.size(), b.size());
  double diff = 0, norm = 1e-30;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    diff += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
    norm += double(b[i]) * b[i];
  }
  return std::sqrt(diff / norm);
}

/// Logits after prefilling `prompt` and then decoding each of `decoded`, one vector per step.
std::vector<std::vector<float>> runSteps(const bundle::Bundle &bundle,
                                         std::span<const int32_t> prompt,
                                         std::span<const int32_t> decoded,
                                         SessionOptions options = {}) {
  Session session(bundle, options);
  std::vector<std::vector<float>> steps = {copy(session.prefill(prompt))};
  for (int32_t token : decoded)
    steps.push_back(copy(session.decode(token)));
  return steps;
}

struct ModelCase {
  std::string name;
  QuantMix mix;
  std::function<void(synth::ModelShape &)> reshape;
};

void PrintTo(const ModelCase &c, std::ostream *os) { *os << c.name; }

std::vector<ModelCase> modelCases() {
  return {
      {"gqa_f32", QuantMix::F32, {}},
      {"mha_f32", QuantMix::F32, [](synth::ModelShape &s) { s.kvHeads = s.heads; }},
      {"tied_rope_scaling_f32", QuantMix::F32,
       [](synth::ModelShape &s) {
         s.tiedEmbeddings = true;
         s.ropeScaling = synth::RopeScaling::Llama3;
         s.llama3.originalContext = 64; // so the tiny context reaches the scaled wavelengths
       }},
      {"gqa_f16", QuantMix::F16, {}},
      {"gqa_q8_0", QuantMix::Q8_0, {}},
      {"gqa_q4_k_m", QuantMix::Q4_K_M, {}},
  };
}

class SessionModelTest : public ::testing::TestWithParam<std::tuple<ModelCase, bool>> {
protected:
  std::unique_ptr<bundle::Bundle> open(const test::LlamaPlanOptions &options) {
    const ModelCase &model = std::get<0>(GetParam());
    const std::string gguf = test::tinyModel(model.mix, model.name, model.reshape);
    return bundle::Bundle::open(test::writeLlamaBundle(gguf, dir_.file("m.greta"), options));
  }
  test::TempDir dir_;
};

// Tests prefill/decode consistency: decode's logits at position N (after a prefill of N tokens)
// equal the logits of a prefill of the same N+1 tokens, within 1e-5 relative — for every model
// shape and quant mix, fused and unfused.
TEST_P(SessionModelTest, DecodeMatchesPrefillOfOneMoreToken) {
  const bool fuse = std::get<1>(GetParam());
  const auto bundle = open({.fuse = fuse});
  const uint64_t vocab = bundle->manifest().model.vocab;
  const std::vector<int32_t> tokens = promptTokens(12, vocab, 3);
  for (size_t n : {1u, 5u, 11u}) {
    Session decodeSession(*bundle);
    decodeSession.prefill(std::span(tokens).first(n));
    const std::vector<float> decoded = copy(decodeSession.decode(tokens[n]));
    Session prefillSession(*bundle);
    const std::vector<float> prefilled =
        copy(prefillSession.prefill(std::span(tokens).first(n + 1)));
    EXPECT_LT(relativeError(decoded, prefilled), kConsistencyTolerance) << "N = " << n;
    for (float v : decoded)
      ASSERT_TRUE(std::isfinite(v));
  }
}

INSTANTIATE_TEST_SUITE_P(TinyModels, SessionModelTest,
                         ::testing::Combine(::testing::ValuesIn(modelCases()), ::testing::Bool()),
                         [](const auto &info) {
                           return std::get<0>(info.param).name +
                                  (std::get<1>(info.param) ? "_fused" : "_unfused");
                         });

class SessionTest : public ::testing::Test {
protected:
  std::unique_ptr<bundle::Bundle> open(const test::LlamaPlanOptions &options,
                                       QuantMix mix = QuantMix::Q4_K_M) {
    const std::string dir = dir_.file(fmt::format("b{}.greta", bundles_++));
    return bundle::Bundle::open(test::writeLlamaBundle(test::tinyModel(mix), dir, options));
  }
  test::TempDir dir_;
  int bundles_ = 0;
};

// Tests that the plan variants the compiler offers — fused or not, audits on or off, weights
// embedded or external, prefill's products on binary16 operands (cast_f16 and dequant_f16
// launches the CPU runs but whose buffers its products do not read) — give the same logits at
// every step (the runtime only follows plans).
TEST_F(SessionTest, PlanVariantsGiveTheSameLogits) {
  const auto reference = open({.fuse = true, .audits = true});
  const std::vector<int32_t> prompt = promptTokens(9, reference->manifest().model.vocab, 5);
  const std::vector<int32_t> decoded = {7, 100, 3};
  const auto expected = runSteps(*reference, prompt, decoded);
  const test::LlamaPlanOptions variants[] = {
      {.fuse = false, .audits = true},
      {.fuse = true, .audits = false},
      {.fuse = false, .audits = false},
      {.fuse = true, .audits = true, .weights = bundle::WeightMode::External},
      {.fuse = true, .audits = true, .f16Gemm = true},
      {.fuse = false, .audits = true, .f16Gemm = true},
  };
  for (const test::LlamaPlanOptions &variant : variants) {
    const auto bundle = open(variant);
    const auto steps = runSteps(*bundle, prompt, decoded);
    for (size_t i = 0; i < steps.size(); ++i)
      EXPECT_LT(relativeError(steps[i], expected[i]), 1e-6)
          << "fuse " << variant.fuse << " audits " << variant.audits << " f16Gemm "
          << variant.f16Gemm << " step " << i;
  }
}

// Tests binary16 KV caches (kv_dtype f16), fused and unfused: every stored key and value is
// rounded (relative error up to 2^-11), so the logits move, but only by what that rounding
// carries through attention — within 2e-3 relative L2 of the f32 caches' at every step, with
// the same top token after the prompt.
TEST_F(SessionTest, F16KvCachesStayCloseToF32) {
  for (bool fuse : {true, false}) {
    SCOPED_TRACE(fuse ? "fused" : "unfused");
    const auto f32 = open({.fuse = fuse});
    const auto f16 = open({.fuse = fuse, .kvF16 = true});
    ASSERT_EQ(f16->manifest().findBuffer("kv.0.k")->dtype, bundle::BufferDType::F16);
    const std::vector<int32_t> prompt = promptTokens(9, f32->manifest().model.vocab, 6);
    const std::vector<int32_t> decoded = {7, 100, 3};
    const auto expected = runSteps(*f32, prompt, decoded);
    const auto steps = runSteps(*f16, prompt, decoded);
    for (size_t i = 0; i < steps.size(); ++i) {
      const double error = relativeL2(steps[i], expected[i]);
      EXPECT_LT(error, 2e-3) << "step " << i;
      EXPECT_GT(error, 0.0) << "step " << i << ": the caches' dtype made no difference";
    }
    EXPECT_EQ(sampling::argmax(steps[0]), sampling::argmax(expected[0]));
  }
}

// Tests that a run skips the launches whose results only the GPU's binary16 operands read
// (cast_f16, dequant_f16: the CPU's products read x and the quantised weights), while
// runLaunch (the kernel tests) still runs them.
TEST_F(SessionTest, CpuRunSkipsLaunchesOnlyBinary16OperandsRead) {
  const auto bundle = open({.fuse = true, .audits = true, .f16Gemm = true});
  cpu::CpuProgram program(*bundle, {.context = 32, .maxBatch = 8, .threads = 2});
  const std::span<uint8_t> x16 = program.bufferBytes("x16.256");
  std::fill(x16.begin(), x16.end(), uint8_t{0xff});
  std::fill_n(program.tokens().begin(), 4, 5);
  for (int32_t i = 0; i < 4; ++i)
    program.positions()[i] = i;
  program.run(bundle::PhaseKind::Prefill, 4);
  EXPECT_TRUE(std::all_of(x16.begin(), x16.end(), [](uint8_t b) { return b == 0xff; }))
      << "cast_f16 ran in a CPU run";
  const bundle::PhasePlan &plan = bundle->manifest().prefill;
  size_t cast = 0;
  while (bundle->manifest().findKernel(plan.launches[cast].kernel)->family != "cast_f16")
    ++cast;
  program.runLaunch(bundle::PhaseKind::Prefill, cast, 4);
  EXPECT_FALSE(std::all_of(x16.begin(), x16.end(), [](uint8_t b) { return b == 0xff; }))
      << "runLaunch did not run cast_f16";
}

// Tests that an LM head stored as f16_rows (--fp16-weights) stays within f16 rounding of the
// quantized one and picks the same top token.
TEST_F(SessionTest, Fp16LmHeadStaysClose) {
  const auto reference = open({});
  const auto fp16 = open({.fp16Weights = {"output.weight"}});
  EXPECT_EQ(fp16->weight("output.weight").layout, "f16_rows");
  const std::vector<int32_t> prompt = promptTokens(6, reference->manifest().model.vocab, 8);
  const auto a = runSteps(*reference, prompt, {});
  const auto b = runSteps(*fp16, prompt, {});
  EXPECT_LT(relativeError(b[0], a[0]), 1e-2);
  EXPECT_EQ(sampling::argmax(b[0]), sampling::argmax(a[0]));
}

// Tests that results do not depend on the thread count or on how a long prompt is cut into
// prefill runs: bit-identical logits.
TEST_F(SessionTest, ThreadsAndChunkingDoNotChangeBits) {
  const auto bundle = open({});
  const std::vector<int32_t> prompt = promptTokens(23, bundle->manifest().model.vocab, 9);
  const std::vector<int32_t> next = {5, 6};
  const auto one = runSteps(*bundle, prompt, next, {.threads = 1});
  const auto three = runSteps(*bundle, prompt, next, {.threads = 3});
  const auto chunked = runSteps(*bundle, prompt, next, {.maxBatch = 4, .threads = 2});
  EXPECT_EQ(one, three);
  EXPECT_EQ(one, chunked);
}

// Tests the audit records: one per point per step, named by phase, with the logits' top-1 equal
// to the argmax of the returned logits and statistics of the right row.
TEST_F(SessionTest, AuditRecordsDescribeEachStep) {
  const auto bundle = open({.audits = true});
  Session session(*bundle);
  const std::vector<int32_t> prompt = promptTokens(4, bundle->manifest().model.vocab, 10);
  std::vector<float> logits = copy(session.prefill(prompt));
  ASSERT_EQ(session.audits().size(), 2u);
  const AuditRecord &norm = session.audits()[0];
  const AuditRecord &head = session.audits()[1];
  EXPECT_EQ(norm.phase, "prefill_last");
  EXPECT_EQ(norm.point, "final_rmsnorm");
  EXPECT_EQ(norm.stats.count, bundle->manifest().model.dim);
  EXPECT_EQ(head.point, "lm_head");
  EXPECT_EQ(head.seqLen, 4u);
  EXPECT_EQ(head.posId, 3u);
  EXPECT_EQ(head.stats.top1Id, sampling::argmax(logits));
  EXPECT_FLOAT_EQ(head.stats.top1Logit, logits[head.stats.top1Id]);
  EXPECT_FLOAT_EQ(head.stats.max, head.stats.top1Logit);
  session.decode(1);
  EXPECT_EQ(session.audits()[0].phase, "decode0");
  logits = copy(session.decode(2));
  EXPECT_EQ(session.audits()[1].phase, "decodeN");
  EXPECT_EQ(session.audits()[1].tokensTotal, 6u);
  EXPECT_EQ(session.audits()[1].stats.top1Id, sampling::argmax(logits));
  EXPECT_TRUE(runSteps(*open({.audits = false}), prompt, {}).size() == 1);
}

// Tests the context limit: a prompt that does not fit is refused whole (nothing truncated, the
// position unchanged), decoding into a full context is refused, and --ctx cannot exceed the
// model's context.
TEST_F(SessionTest, ContextIsEnforcedWithoutTruncation) {
  const auto bundle = open({});
  Session session(*bundle, {.context = 8});
  const std::vector<int32_t> prompt = promptTokens(9, bundle->manifest().model.vocab, 11);
  test::expectError(
      [&] { session.prefill(prompt); },
      {"prompt of 9 tokens", "does not fit the context of 8", "nothing was truncated"});
  EXPECT_EQ(session.position(), 0u);
  session.prefill(std::span(prompt).first(7));
  session.decode(prompt[7]);
  test::expectError([&] { session.decode(prompt[8]); }, {"context of 8 tokens is full"});
  test::expectError([&] { session.prefill(std::span(prompt).first(1)); }, {"0 free"});
  test::expectError([&] { Session(*bundle, {.context = 4096}); },
                    {"context 4096", "exceeds the model's context length 2048"});
  test::expectError(
      [&] {
        session.reset();
        session.prefill(std::vector<int32_t>{-1});
      },
      {"token id -1", "outside the vocabulary"});
}

// Tests that CPU buffers (the KV caches of a 2^28-token context, over 500 GB for the tiny model)
// are refused before anything is allocated, saying what is needed, what is available and what
// to change, instead of overcommitting memory the zero-fill would then be killed for.
TEST_F(SessionTest, BuffersBeyondAvailableMemoryAreRefused) {
  constexpr uint64_t kHugeContext = uint64_t{1} << 28;
  const std::string gguf = test::tinyModel(QuantMix::F32, "huge_context",
                                           [](synth::ModelShape &s) { s.context = kHugeContext; });
  const auto bundle =
      bundle::Bundle::open(test::writeLlamaBundle(gguf, dir_.file("huge.greta"), {}));
  const synth::ModelShape tiny = synth::presetShape("tiny");
  const uint64_t kvBytes = 2 * tiny.layers * kHugeContext * (tiny.dim / tiny.heads) *
                           tiny.kvHeads * sizeof(float);
  if (const auto available = availableMemoryBytes(); !available || *available >= kvBytes)
    GTEST_SKIP() << "this machine has " << kvBytes << " bytes of memory available";
  test::expectError([&] { Session(*bundle, {.context = kHugeContext}); },
                    {"CPU buffers (KV cache of 268435456 tokens included)", "needs",
                     "of memory are available", "a smaller --ctx needs less"});
}

// Tests the memory check's message: the need and the availability in bytes and GiB, the hint;
// and that an unknown availability refuses nothing.
TEST(MemoryBudget, RefusesMoreThanAvailable) {
  test::expectError([] { requireMemory(3ull << 30, 1ull << 30, "model.greta: KV cache", "hint"); },
                    {"model.greta: KV cache: needs 3221225472 bytes (3.00 GiB) but only "
                     "1073741824 bytes (1.00 GiB) of memory are available",
                     "; hint"});
  EXPECT_NO_THROW(requireMemory(1ull << 30, 1ull << 30, "x", "y"));
  EXPECT_NO_THROW(requireMemory(~uint64_t{0}, std::nullopt, "x", "y"));
  EXPECT_TRUE(availableMemoryBytes().has_value()); // Linux: /proc/meminfo
}

} // namespace
} // namespace greta::engine
