//===- audit_test.cpp - The audit recorder, CPU probe, delta, routes, faults ===//
//
// Issue 6's CPU side through Session and AuditTracer: a tiny Llama-3-shaped model with the real
// Llama-3 vocabulary (greta-synth --vocab) and a chat prompt, compiled by the mock compiler. The
// reference case — an LM head broken only in prefill — must make the CPU probe disagree in
// prefill_last and agree in decode0; a broken final norm must fail --rms-verify; a healthy model
// must agree everywhere, and identical runs must write identical JSONL.
//
//===----------------------------------------------------------------------===//
#include "runtime/bundle/bundle.h"
#include "runtime/bundle/bundle_writer.h"
#include "runtime/engine/audit_log.h"
#include "runtime/engine/session.h"
#include "runtime/sampling/sampler.h"
#include "runtime/support/error.h"
#include "runtime/synth/synth_model.h"
#include "runtime/tokenizer/chat_template.h"
#include "runtime/tokenizer/tokenizer.h"

#include "test/unit/support/llama_plan_fixture.h"
#include "test/unit/support/shared_testdata.h"
#include "test/unit/support/test_models.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include <functional>
#include <mutex>

namespace greta::engine {
namespace {

using Json = nlohmann::json;

/// Every field of ARCHITECTURE.md "Audit record", plus the checks' own.
const std::vector<std::string> kArchitectureFields = {
    "phase", "step", "tokens_total", "seq_len", "pos_id", "hidden_hash", "hidden_min",
    "hidden_max", "hidden_mean", "rms_hash", "rms_min", "rms_max", "rms_mean", "rms_sumsq",
    "rms_eps", "rms_weight_dtype", "rms_input_dtype", "logits_hash", "top1_id", "top1_logit",
    "top2_id", "top2_logit", "gap", "lm_head_route", "lm_head_quant_mode", "lm_head_layout_used",
    "lm_head_dtype_a", "lm_head_dtype_b", "lm_head_accum_dtype", "lm_head_scales_hash",
    "cpu_probe_top1_id", "cpu_probe_agrees_gpu", "cpu_probe_max_abs_diff"};
const std::vector<std::string> kCheckFields = {
    "turn", "prompt", "cpu_probe_top1_logit", "cpu_probe_weights", "rms_verify_max_abs_diff",
    "rms_verify_ok", "delta_hidden_max_abs_diff", "delta_rms_max_abs_diff", "delta_max_abs_diff",
    "delta_top1_agrees", "delta_prefill_top1_id", "delta_agrees", "forced_routes",
    "injected_fault"};

/// The tiny preset (2 layers, dim 256) in Q4_K_M with Llama 3's 128256-token vocabulary: the
/// LM head is Q6_K, as in the reference case.
const std::string &llama3TinyModel() {
  static test::TempDir *dir = nullptr;
  static std::string path;
  static std::once_flag once;
  std::call_once(once, [] {
    dir = new test::TempDir(); // lives for the process: every test reads the file
    synth::SynthOptions options;
    options.shape = synth::presetShape("tiny");
    options.quant = synth::QuantMix::Q4_K_M;
    options.vocabPath = std::string(GRETA_SHARED_TESTDATA) + "/llama3-tokenizer/llama3-vocab.gguf";
    options.seed = 11;
    path = dir->file("tiny-llama3-q4_k_m.gguf");
    synth::writeModel(options, path);
  });
  return path;
}

/// A system + user chat prompt in the Llama-3 template, as greta-run --chat builds it.
std::vector<int32_t> chatPrompt(const bundle::Bundle &bundle, const std::string &user) {
  const auto tokenizer = Tokenizer::fromGguf(bundle.tokenizerGguf());
  const ChatTemplate chat = ChatTemplate::fromGguf(bundle.tokenizerGguf());
  const std::vector<ChatMessage> messages = {
      {"system", "You are a helpful assistant. Answer in one word."}, {"user", user}};
  return tokenizer->encode(chat.render(messages, /*addGenerationPrompt=*/true),
                           {.addBos = false, .parseSpecial = true});
}

struct Trace {
  std::vector<Json> records;
  std::string jsonl;
};

/// Greedy generation of `steps` tokens after the prompt, recording every step.
Trace trace(const bundle::Bundle &bundle, std::span<const int32_t> prompt, size_t steps,
            const AuditTraceOptions &audit, SessionOptions options = {}) {
  options.captureAuditRows = true;
  options.threads = 2;
  Session session(bundle, options);
  AuditTracer tracer(session, audit);
  tracer.setPrompt("¿Cuál es la capital de Argentina?");
  Trace out;
  auto record = [&] {
    const std::string line = tracer.stepJson();
    out.jsonl += line + "\n";
    out.records.push_back(Json::parse(line));
  };
  std::span<const float> logits = session.prefill(prompt);
  record();
  for (size_t i = 0; i < steps; ++i) {
    logits = session.decode(sampling::argmax(logits));
    record();
  }
  return out;
}

const AuditTraceOptions kAllChecks{.cpuProbe = true, .rmsVerify = true, .delta = true};

class AuditTest : public ::testing::Test {
protected:
  std::unique_ptr<bundle::Bundle> open(const test::LlamaPlanOptions &options = {},
                                       const std::string &name = "m.greta") {
    return bundle::Bundle::open(
        test::writeLlamaBundle(llama3TinyModel(), dir_.file(name), options));
  }
  test::TempDir dir_;
};

// Tests that every record carries every field of ARCHITECTURE.md's audit record (and the
// checks' fields), in both phases, with the values the plan implies: the LM head's route per
// phase, its Q6_K weight in ggml layout, the final norm's eps, and positions that count up.
TEST_F(AuditTest, RecordsCarryEveryField) {
  GRETA_NEEDS_SHARED_TESTDATA();
  const auto bundle = open();
  const std::vector<int32_t> prompt = chatPrompt(*bundle, "¿Cuál es la capital de Argentina?");
  const Trace t = trace(*bundle, prompt, 2, kAllChecks);
  ASSERT_EQ(t.records.size(), 3u);
  for (const Json &r : t.records) {
    for (const std::string &field : kArchitectureFields)
      EXPECT_TRUE(r.contains(field) && !r[field].is_null()) << field << " in " << r.dump();
    for (const std::string &field : kCheckFields)
      EXPECT_TRUE(r.contains(field)) << field;
    EXPECT_EQ(r["lm_head_quant_mode"], "Q6_K");
    EXPECT_EQ(r["lm_head_layout_used"], "ggml");
    EXPECT_EQ(r["lm_head_dtype_a"], "f32");
    EXPECT_EQ(r["rms_weight_dtype"], "F32");
    EXPECT_EQ(r["rms_input_dtype"], "f32");
    EXPECT_DOUBLE_EQ(r["rms_eps"].get<double>(), bundle->manifest().model.rmsEps);
    EXPECT_EQ(r["cpu_probe_weights"], "bundle");
    EXPECT_TRUE(r["hidden_hash"].get<std::string>().starts_with("fnv1a64tree:"));
    EXPECT_TRUE(r["logits_hash"].get<std::string>().starts_with("fnv1a64tree:"));
    EXPECT_TRUE(r["lm_head_scales_hash"].get<std::string>().starts_with("fnv1a64:"));
  }
  EXPECT_EQ(t.records[0]["phase"], "prefill_last");
  EXPECT_EQ(t.records[0]["lm_head_route"], "gemm");
  EXPECT_EQ(t.records[0]["seq_len"], prompt.size());
  EXPECT_EQ(t.records[0]["pos_id"], prompt.size() - 1);
  EXPECT_TRUE(t.records[0]["delta_agrees"].is_null()); // delta compares decode steps only
  EXPECT_EQ(t.records[1]["phase"], "decode0");
  EXPECT_EQ(t.records[1]["lm_head_route"], "gemv");
  EXPECT_EQ(t.records[1]["pos_id"], prompt.size());
  EXPECT_EQ(t.records[2]["phase"], "decodeN");
  EXPECT_EQ(t.records[2]["step"], 1);
  EXPECT_EQ(t.records[2]["tokens_total"], prompt.size() + 2);
  // Same weight in both phases: same scales hash.
  EXPECT_EQ(t.records[0]["lm_head_scales_hash"], t.records[1]["lm_head_scales_hash"]);
}

// Tests that on a healthy model every check agrees in every phase — CPU probe (same top-1 as the
// backend, small difference), RMSNorm check, and prefill/decode delta — fused and unfused, and
// that without an explicit `input` in the audit entry the runtime finds the hidden state itself.
TEST_F(AuditTest, HealthyModelAgreesEverywhere) {
  GRETA_NEEDS_SHARED_TESTDATA();
  for (const test::LlamaPlanOptions &options :
       {test::LlamaPlanOptions{.fuse = true}, test::LlamaPlanOptions{.fuse = false},
        test::LlamaPlanOptions{.fuse = true, .auditInput = false}}) {
    const auto bundle = open(options, fmt::format("m{}{}.greta", options.fuse, options.auditInput));
    const Trace t =
        trace(*bundle, chatPrompt(*bundle, "¿Cuál es la capital de Argentina?"), 3, kAllChecks);
    for (const Json &r : t.records) {
      SCOPED_TRACE(r.dump());
      EXPECT_TRUE(r["cpu_probe_agrees_gpu"].get<bool>());
      EXPECT_EQ(r["cpu_probe_top1_id"], r["top1_id"]);
      EXPECT_LT(r["cpu_probe_max_abs_diff"].get<double>(), 1e-3);
      EXPECT_TRUE(r["rms_verify_ok"].get<bool>());
      EXPECT_LT(r["rms_verify_max_abs_diff"].get<double>(), 1e-4);
      if (r["phase"] != "prefill_last") {
        EXPECT_TRUE(r["delta_agrees"].get<bool>());
        EXPECT_TRUE(r["delta_top1_agrees"].get<bool>());
        EXPECT_EQ(r["delta_prefill_top1_id"], r["top1_id"]);
      }
    }
  }
}

// Tests that identical runs write byte-identical JSONL (no timestamps, deterministic numbers),
// whatever the thread count.
TEST_F(AuditTest, IdenticalRunsWriteIdenticalJsonl) {
  GRETA_NEEDS_SHARED_TESTDATA();
  const auto bundle = open();
  const std::vector<int32_t> prompt = chatPrompt(*bundle, "Hello!");
  const Trace a = trace(*bundle, prompt, 3, kAllChecks);
  const Trace b = trace(*bundle, prompt, 3, kAllChecks);
  const Trace c = trace(*bundle, prompt, 3, kAllChecks, {.threads = 1});
  EXPECT_EQ(a.jsonl, b.jsonl);
  EXPECT_EQ(a.jsonl, c.jsonl);
}

// Tests the reference case: corrupting the block scales of the LM head weight used by prefill
// only makes the CPU probe (original weights) disagree at prefill_last and agree at decode0,
// while the RMSNorm checks out in both; the prefill scales hash differs from decode's, and the
// fault is labelled in the record.
TEST_F(AuditTest, PrefillLmHeadScalesFaultIsCaughtInPrefillOnly) {
  GRETA_NEEDS_SHARED_TESTDATA();
  const auto bundle = open();
  const Trace t = trace(*bundle, chatPrompt(*bundle, "¿Cuál es la capital de Argentina?"), 2,
                        kAllChecks, {.injectFault = "lm_head.prefill.scales"});
  const Json &prefill = t.records[0];
  const Json &decode0 = t.records[1];
  EXPECT_FALSE(prefill["cpu_probe_agrees_gpu"].get<bool>());
  EXPECT_NE(prefill["cpu_probe_top1_id"], prefill["top1_id"]) << "the top-1 itself moved";
  EXPECT_GT(prefill["cpu_probe_max_abs_diff"].get<double>(), 0.1);
  EXPECT_TRUE(decode0["cpu_probe_agrees_gpu"].get<bool>());
  EXPECT_TRUE(prefill["rms_verify_ok"].get<bool>());
  EXPECT_TRUE(decode0["rms_verify_ok"].get<bool>());
  EXPECT_NE(prefill["lm_head_scales_hash"], decode0["lm_head_scales_hash"]);
  EXPECT_EQ(prefill["lm_head_route"], "gemm");
  EXPECT_EQ(prefill["injected_fault"], "lm_head.prefill.scales");
  // Delta mode sees it too: decode's logits differ from a (faulty) prefill of the same tokens.
  EXPECT_FALSE(decode0["delta_agrees"].get<bool>());
  EXPECT_LT(decode0["delta_hidden_max_abs_diff"].get<double>(), 1e-3);
}

// Tests that reading the prefill LM head's rows in a wrong order is caught the same way: the
// probe disagrees in prefill and agrees in decode, and the scales hash cannot see it.
TEST_F(AuditTest, PrefillLmHeadLayoutFaultIsCaughtInPrefillOnly) {
  GRETA_NEEDS_SHARED_TESTDATA();
  const auto bundle = open();
  const Trace t = trace(*bundle, chatPrompt(*bundle, "Hello!"), 1, kAllChecks,
                        {.injectFault = "lm_head.prefill.layout"});
  EXPECT_FALSE(t.records[0]["cpu_probe_agrees_gpu"].get<bool>());
  EXPECT_TRUE(t.records[1]["cpu_probe_agrees_gpu"].get<bool>());
}

// Tests that a corrupted final RMSNorm weight fails --rms-verify in both phases (the probe, which
// recomputes the norm with the original weight, disagrees too), while the hidden state the norm
// starts from still agrees between decode and prefill.
TEST_F(AuditTest, RmsNormWeightFaultFailsTheRmsCheck) {
  GRETA_NEEDS_SHARED_TESTDATA();
  const auto bundle = open();
  const Trace t = trace(*bundle, chatPrompt(*bundle, "Hello!"), 1, kAllChecks,
                        {.injectFault = "rms_norm.weights"});
  for (const Json &r : t.records) {
    EXPECT_FALSE(r["rms_verify_ok"].get<bool>()) << r["phase"];
    EXPECT_FALSE(r["cpu_probe_agrees_gpu"].get<bool>()) << r["phase"];
  }
  EXPECT_LT(t.records[1]["delta_hidden_max_abs_diff"].get<double>(), 1e-3);
}

// Tests that the probe reads the original weights even when the bundle's LM head is an f16
// copy: it goes back to the source GGUF, and still agrees with the backend within tolerance.
TEST_F(AuditTest, ProbeReadsTheSourceGgufForAnF16LmHead) {
  GRETA_NEEDS_SHARED_TESTDATA();
  const auto bundle = open({.fp16Weights = {"output.weight"}});
  const Trace t = trace(*bundle, chatPrompt(*bundle, "Hello!"), 1, kAllChecks);
  for (const Json &r : t.records) {
    EXPECT_EQ(r["cpu_probe_weights"], "gguf");
    EXPECT_EQ(r["lm_head_layout_used"], "f16_rows");
    EXPECT_EQ(r["lm_head_quant_mode"], "F16");
    EXPECT_TRUE(r["cpu_probe_agrees_gpu"].get<bool>());
  }
}

// Tests run-time route forcing: with alternatives in the bundle, lm_head=gemv runs the prefill
// LM head on gemv (recorded as such, same logits on the CPU backend), lm_head=gemm moves decode;
// without alternatives the error names the routes the bundle has; a malformed choice is refused.
TEST_F(AuditTest, ForceRoutePicksTheBundlesAlternative) {
  GRETA_NEEDS_SHARED_TESTDATA();
  const auto bundle = open({.lmHeadAlternatives = true}, "alt.greta");
  const std::vector<int32_t> prompt = chatPrompt(*bundle, "Hello!");
  const Trace plain = trace(*bundle, prompt, 1, {.cpuProbe = true});
  const Trace gemv = trace(*bundle, prompt, 1, {.cpuProbe = true}, {.forceRoutes = {"lm_head=gemv"}});
  EXPECT_EQ(gemv.records[0]["lm_head_route"], "gemv");
  EXPECT_EQ(gemv.records[1]["lm_head_route"], "gemv");
  EXPECT_EQ(gemv.records[0]["logits_hash"], plain.records[0]["logits_hash"]);
  EXPECT_EQ(gemv.records[0]["forced_routes"], Json::array({"lm_head=gemv"}));
  const Trace gemm = trace(*bundle, prompt, 1, {.cpuProbe = true}, {.forceRoutes = {"lm_head=gemm"}});
  EXPECT_EQ(gemm.records[0]["lm_head_route"], "gemm");
  EXPECT_EQ(gemm.records[1]["lm_head_route"], "gemm");

  // The reference case's confirmation: the fault lives in prefill's gemm route, so forcing the
  // LM head onto gemv makes the probe agree again.
  const Trace faulty = trace(*bundle, prompt, 1, {.cpuProbe = true},
                             {.injectFault = "lm_head.prefill.scales"});
  EXPECT_FALSE(faulty.records[0]["cpu_probe_agrees_gpu"].get<bool>());
  const Trace healed = trace(*bundle, prompt, 1, {.cpuProbe = true},
                             {.forceRoutes = {"lm_head=gemv"},
                              .injectFault = "lm_head.prefill.scales"});
  EXPECT_TRUE(healed.records[0]["cpu_probe_agrees_gpu"].get<bool>());

  const auto single = open({}, "single.greta");
  try {
    Session session(*single, {.forceRoutes = {"lm_head=gemv"}});
    FAIL() << "expected an error for a route the bundle does not carry";
  } catch (const Error &e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("phase prefill runs lm_head on route gemm"), std::string::npos)
        << message;
    EXPECT_NE(message.find("no alternative 'lm_head=gemv'"), std::string::npos) << message;
    EXPECT_NE(message.find("it has: gemm (the phase's own plan)"), std::string::npos) << message;
  }
  EXPECT_THROW(Session(*single, {.forceRoutes = {"lm_head"}}), Error);
  EXPECT_THROW(Session(*single, {.forceRoutes = {"lm_head=warp"}}), Error);
}

// Tests that the manifest carries route alternatives and audit inputs through the writer and
// the loader, and that the loader refuses alternatives that do not do what their key says or
// drop audit points, and audit inputs that name no written buffer — each naming the field.
TEST_F(AuditTest, ManifestValidatesAlternativesAndAuditInputs) {
  const std::string gguf = test::tinyModel(synth::QuantMix::Q8_0);
  const bundle::BundleSpec good = test::buildLlamaPlan(gguf, {.lmHeadAlternatives = true});
  const std::string dir = dir_.file("ok.greta");
  bundle::writeBundle(good, dir);
  const auto loaded = bundle::Bundle::open(dir);
  const bundle::PhasePlan &prefill = loaded->manifest().prefill;
  ASSERT_EQ(prefill.alternatives.count("lm_head=gemv"), 1u);
  EXPECT_EQ(prefill.alternatives.at("lm_head=gemv").launches.size(), prefill.launches.size());
  EXPECT_EQ(loaded->manifest().decode.alternatives.count("lm_head=gemm"), 1u);
  EXPECT_EQ(prefill.audits.front().input, "x");

  auto refused = [&](const std::function<void(bundle::Manifest &)> &edit,
                     const std::string &expected) {
    bundle::BundleSpec spec = good;
    edit(spec.manifest);
    try {
      bundle::writeBundle(spec, dir_.file("bad.greta"));
      ADD_FAILURE() << "accepted; expected: " << expected;
    } catch (const Error &e) {
      EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
    }
  };
  refused(
      [](bundle::Manifest &m) {
        m.prefill.alternatives["lm_head"] = m.prefill.alternatives.at("lm_head=gemv");
      },
      "alternatives['lm_head']: the key must be OP=ROUTE");
  refused(
      [](bundle::Manifest &m) {
        m.prefill.alternatives["lm_head=gemm"] = m.prefill.alternatives.at("lm_head=gemv");
      },
      "must run every lm_head launch on route gemm");
  refused([](bundle::Manifest &m) { m.prefill.alternatives.at("lm_head=gemv").audits.pop_back(); },
          "forcing a route must keep every audit point");
  refused([](bundle::Manifest &m) { m.decode.audits.front().input = "nope"; },
          "input: no buffer named 'nope'");
  refused([](bundle::Manifest &m) { m.decode.audits.front().input = "logits"; },
          "it must be f32 with the audited buffer's");
}

} // namespace
} // namespace greta::engine
