//===- llama_plan_fixture.cpp - A mock compiler for runtime tests ----------===//
//
// TESTS ONLY: builds Llama launch plans the way greta-compile will (see the header). The Llama
// layer loop lives here, in the stand-in compiler, and nowhere in the runtime.
//
//===----------------------------------------------------------------------===//
#include "test/unit/support/llama_plan_fixture.h"

#include "runtime/bundle/audit_record.h"
#include "runtime/bundle/kernel_families.h"
#include "runtime/bundle/model_params.h"
#include "runtime/formats/gguf.h"
#include "runtime/support/error.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace greta::test {
namespace {

using bundle::BufferDType;
using bundle::BufferKind;
using bundle::ParamValue;
using bundle::PhaseKind;
using bundle::RowExtent;
using Args = std::map<std::string, std::string>;
using Params = std::map<std::string, ParamValue>;

constexpr std::string_view kFinalNormPoint = "final_rmsnorm";
constexpr std::string_view kLmHeadPoint = "lm_head";

std::string weightRef(std::string_view name) { return fmt::format("@{}", name); }
std::string layerWeight(uint32_t layer, std::string_view what) {
  return fmt::format("blk.{}.{}.weight", layer, what);
}

std::string signature(const std::string &family, const std::string &route, const Params &params) {
  std::string text = family + "|" + route;
  for (const auto &[key, value] : params)
    text += "|" + key + "=" +
            std::visit(
                [](const auto &v) -> std::string {
                  using T = std::decay_t<decltype(v)>;
                  if constexpr (std::is_same_v<T, std::monostate>)
                    return "null";
                  else if constexpr (std::is_same_v<T, std::string>)
                    return v;
                  else
                    return fmt::format("{}", v);
                },
                value);
  return text;
}

/// Builds one phase's launches; kernels with equal family, route and params are shared.
class PhaseBuilder {
public:
  PhaseBuilder(bundle::BundleSpec &spec, PhaseKind phase, const bundle::ModelParams &model,
               const std::map<std::string, std::string> &weightTypes,
               const test::LlamaPlanOptions &options)
      : spec_(spec), phase_(phase), model_(model), weightTypes_(weightTypes),
        f16Gemm_(options.f16Gemm && phase == PhaseKind::Prefill), kvF16_(options.kvF16) {}

  /// Appends a launch and returns its index.
  size_t launch(const std::string &family, Params params, Args args) {
    if (f16Gemm_ && (family == "matmul" || family == "matmul_gate_up"))
      addF16Operands(params, args);
    if (kvF16_ && args.count("k_cache"))
      params[std::string(bundle::kKvDtypeParam)] = std::string("f16");
    const std::string route = routeOf(family);
    const std::string key = signature(family, route, params);
    auto it = kernelsBySignature_.find(key);
    if (it == kernelsBySignature_.end()) {
      bundle::KernelSpec kernel;
      kernel.name = fmt::format("{}_{}_{}", nameOf(phase_), family, kernelsBySignature_.size());
      kernel.family = family;
      kernel.route = route;
      kernel.entry = kernel.name;
      kernel.params = std::move(params);
      spec_.kernelSources[kernel.name] =
          fmt::format("// mock compiler (tests only): no HIP emitted for {}\n", kernel.name);
      it = kernelsBySignature_.emplace(key, kernel.name).first;
      spec_.manifest.kernels.push_back(std::move(kernel));
    }
    bundle::Launch launch;
    launch.kernel = it->second;
    launch.args = std::move(args);
    const bool prefill = phase_ == PhaseKind::Prefill;
    launch.grid = {{prefill ? 1 : 0, prefill ? 0 : 1, 1}, {0, 1, 1}, {0, 1, 1}};
    plan().launches.push_back(std::move(launch));
    return plan().launches.size() - 1;
  }

  /// Launches the cast_f16 of a prefill matmul's input and the dequant_f16 of its weights, and
  /// gives it their buffers.
  void addF16Operands(const Params &matmul, Args &args) {
    const int64_t k = std::get<int64_t>(matmul.at("k")), n = std::get<int64_t>(matmul.at("n"));
    Params cast = {{"k", k}, {"prologue", matmul.at("prologue")}};
    Args castArgs = {{"x", args.at("x")}, {"out", fmt::format("x16.{}", k)}};
    if (args.count("norm")) {
      cast["eps"] = matmul.at("eps");
      castArgs["norm"] = args.at("norm");
    }
    launch("cast_f16", std::move(cast), std::move(castArgs));
    args["x_f16"] = fmt::format("x16.{}", k);
    const bool gateUp = args.count("gate") != 0;
    const std::vector<std::pair<std::string, std::string>> weights =
        gateUp ? std::vector<std::pair<std::string, std::string>>{{"gate", "gate_f16"},
                                                                 {"up", "up_f16"}}
               : std::vector<std::pair<std::string, std::string>>{{"weight", "weight_f16"}};
    for (size_t i = 0; i < weights.size(); ++i) {
      const std::string scratch = fmt::format("w16.{}", i);
      launch("dequant_f16", {{"k", k}, {"n", n}, {"quant", matmul.at("quant")}},
             {{"weight", args.at(weights[i].first)}, {"out", scratch}});
      args[weights[i].second] = scratch;
    }
  }

  Params matmulParams(const std::string &weight, int64_t k, int64_t n) const {
    return {{"k", k},
            {"n", n},
            {"quant", weightTypes_.at(weight)},
            {"prologue", std::string(bundle::kPrologueNone)},
            {"epilogue", std::string(bundle::kEpilogueNone)}};
  }
  Params ropeParams(int64_t heads) const {
    return {{"heads", heads},
            {"head_dim", int64_t{model_.headDim}},
            {"theta", model_.ropeTheta},
            {"freqs", model_.ropeFreqs ? ParamValue(*model_.ropeFreqs)
                                       : ParamValue(std::string(bundle::kRopeFreqsNone))}};
  }
  Params normParams() const { return {{"dim", int64_t{model_.dim}}, {"eps", model_.rmsEps}}; }
  const std::string &typeOf(const std::string &weight) const { return weightTypes_.at(weight); }

  bundle::PhasePlan &plan() { return spec_.manifest.phase(phase_); }
  bool isDecode() const { return phase_ == PhaseKind::Decode; }

private:
  std::string routeOf(const std::string &family) const {
    const bool decode = phase_ == PhaseKind::Decode;
    if (family == "matmul" || family == "matmul_gate_up" || family == "lm_head")
      return decode ? "gemv" : "gemm";
    if (family == "matmul_qkv")
      return "gemv";
    if (family == "attention")
      return decode ? "split_kv" : "flash";
    return "";
  }

  bundle::BundleSpec &spec_;
  PhaseKind phase_;
  const bundle::ModelParams &model_;
  const std::map<std::string, std::string> &weightTypes_;
  bool f16Gemm_;
  bool kvF16_;
  std::map<std::string, std::string> kernelsBySignature_;
};

/// One phase of the plan: the Llama forward pass as launches.
class LlamaPhase {
public:
  LlamaPhase(PhaseBuilder &b, const bundle::ModelParams &m, const LlamaPlanOptions &options)
      : b_(b), m_(m), options_(options), qCols_(int64_t{m.heads} * m.headDim),
        kvCols_(int64_t{m.kvHeads} * m.headDim) {}

  void build() {
    b_.launch(
        "embedding", {{"dim", int64_t{m_.dim}}},
        {{"tokens", "tokens"}, {"table", weightRef(bundle::kTokenEmbeddingTensor)}, {"out", "x"}});
    for (uint32_t layer = 0; layer < m_.layers; ++layer)
      options_.fuse ? fusedLayer(layer) : unfusedLayer(layer);
    size_t normLaunch;
    std::string finalNorm;
    if (options_.fuse) {
      normLaunch = b_.plan().launches.size() - 1; // the last add_rms_norm wrote xn
      finalNorm = "xn";
    } else {
      normLaunch =
          b_.launch("rms_norm", b_.normParams(),
                    {{"x", "x"}, {"weight", weightRef("output_norm.weight")}, {"out", "x_final"}});
      finalNorm = "x_final";
    }
    audit(finalNorm, kFinalNormPoint, m_.dim, /*isLogits=*/false, normLaunch,
          options_.auditInput ? "x" : ""); // add_rms_norm's sum / rms_norm's input
    const std::string output =
        std::string(m_.tiedEmbeddings ? bundle::kTokenEmbeddingTensor : bundle::kOutputTensor);
    const size_t headLaunch = b_.launch(
        "lm_head", {{"k", int64_t{m_.dim}}, {"n", int64_t{m_.vocab}}, {"quant", b_.typeOf(output)}},
        {{"x", finalNorm}, {"weight", weightRef(output)}, {"out", "logits"}});
    audit("logits", kLmHeadPoint, m_.vocab, /*isLogits=*/true, headLaunch);
  }

private:
  void projections(uint32_t layer, const std::string &input, const std::string &norm) {
    const std::pair<const char *, int64_t> qkv[] = {{"q", qCols_}, {"k", kvCols_}, {"v", kvCols_}};
    for (const auto &[name, cols] : qkv) {
      const std::string weight = layerWeight(layer, fmt::format("attn_{}", name));
      Params params = b_.matmulParams(weight, m_.dim, cols);
      Args args = {{"x", input}, {"weight", weightRef(weight)}, {"out", name}};
      normPrologue(norm, params, args);
      b_.launch("matmul", std::move(params), std::move(args));
    }
  }

  /// Decode's q, k and v and their rope_kv_append in one matmul_qkv launch where q and k share
  /// a type, as greta-compile lowers them (v may have its own: params.v_quant); otherwise three
  /// matmuls and a rope_kv_append.
  void fusedProjections(uint32_t layer, const std::string &input, const std::string &norm) {
    const std::string q = layerWeight(layer, "attn_q"), k = layerWeight(layer, "attn_k"),
                      v = layerWeight(layer, "attn_v");
    if (!b_.isDecode() || b_.typeOf(q) != b_.typeOf(k)) {
      projections(layer, input, norm);
      ropeKvAppend(layer);
      return;
    }
    Params params = ropeKvAppendParams();
    params["k"] = int64_t{m_.dim};
    params["quant"] = b_.typeOf(q);
    params["prologue"] = std::string(bundle::kPrologueNone);
    if (b_.typeOf(v) != b_.typeOf(q))
      params["v_quant"] = b_.typeOf(v);
    Args args = ropeKvAppendArgs(layer);
    args["x"] = input;
    args["q_weight"] = weightRef(q);
    args["k_weight"] = weightRef(k);
    args["v_weight"] = weightRef(v);
    normPrologue(norm, params, args);
    b_.launch("matmul_qkv", std::move(params), std::move(args));
  }

  /// A matmul's rms_norm prologue with weight `norm`, when one is given.
  void normPrologue(const std::string &norm, Params &params, Args &args) const {
    if (norm.empty())
      return;
    params["prologue"] = std::string(bundle::kPrologueRmsNorm);
    params["eps"] = m_.rmsEps;
    args["norm"] = weightRef(norm);
  }

  Params ropeKvAppendParams() const {
    Params params = b_.ropeParams(m_.heads);
    params["kv_heads"] = int64_t{m_.kvHeads};
    return params;
  }
  /// q, k, v, the positions and the caches of `layer`, as rope_kv_append and matmul_qkv name
  /// them.
  static Args ropeKvAppendArgs(uint32_t layer) {
    return {{"q", "q"},
            {"k", "k"},
            {"v", "v"},
            {"positions", "positions"},
            {"k_cache", cache(layer, "k")},
            {"v_cache", cache(layer, "v")}};
  }

  void ropeKvAppend(uint32_t layer) {
    b_.launch("rope_kv_append", ropeKvAppendParams(), ropeKvAppendArgs(layer));
  }

  void attention(uint32_t layer) {
    b_.launch("attention",
              {{"heads", int64_t{m_.heads}},
               {"kv_heads", int64_t{m_.kvHeads}},
               {"head_dim", int64_t{m_.headDim}}},
              {{"q", "q"},
               {"k_cache", cache(layer, "k")},
               {"v_cache", cache(layer, "v")},
               {"positions", "positions"},
               {"out", "att"}});
  }

  void unfusedLayer(uint32_t layer) {
    b_.launch("rms_norm", b_.normParams(),
              {{"x", "x"}, {"weight", weightRef(layerWeight(layer, "attn_norm"))}, {"out", "xn"}});
    projections(layer, "xn", "");
    b_.launch("rope", b_.ropeParams(m_.heads), {{"x", "q"}, {"positions", "positions"}});
    b_.launch("rope", b_.ropeParams(m_.kvHeads), {{"x", "k"}, {"positions", "positions"}});
    b_.launch("kv_append", {{"kv_heads", int64_t{m_.kvHeads}}, {"head_dim", int64_t{m_.headDim}}},
              {{"k", "k"},
               {"v", "v"},
               {"positions", "positions"},
               {"k_cache", cache(layer, "k")},
               {"v_cache", cache(layer, "v")}});
    attention(layer);
    matmul(layerWeight(layer, "attn_output"), "att", "o", qCols_, m_.dim);
    b_.launch("add", {{"n", int64_t{m_.dim}}}, {{"a", "x"}, {"b", "o"}, {"out", "x"}});
    b_.launch("rms_norm", b_.normParams(),
              {{"x", "x"}, {"weight", weightRef(layerWeight(layer, "ffn_norm"))}, {"out", "xn"}});
    gateUpSeparately(layer, "xn");
    matmul(layerWeight(layer, "ffn_down"), "g", "o", m_.ffn, m_.dim);
    b_.launch("add", {{"n", int64_t{m_.dim}}}, {{"a", "x"}, {"b", "o"}, {"out", "x"}});
  }

  void fusedLayer(uint32_t layer) {
    // Layer 0 normalises in the projections' prologue; later layers get xn from the previous
    // layer's add_rms_norm.
    if (layer == 0)
      fusedProjections(layer, "x", layerWeight(layer, "attn_norm"));
    else
      fusedProjections(layer, "xn", "");
    attention(layer);
    const std::string attnOutput = layerWeight(layer, "attn_output");
    Params residual = b_.matmulParams(attnOutput, qCols_, m_.dim);
    residual["epilogue"] = std::string(bundle::kEpilogueResidualAdd);
    b_.launch("matmul", std::move(residual),
              {{"x", "att"}, {"weight", weightRef(attnOutput)}, {"residual", "x"}, {"out", "x"}});
    const std::string gate = layerWeight(layer, "ffn_gate");
    const std::string up = layerWeight(layer, "ffn_up");
    if (b_.typeOf(gate) == b_.typeOf(up)) {
      Params params = b_.matmulParams(gate, m_.dim, m_.ffn);
      params.erase("epilogue");
      params["prologue"] = std::string(bundle::kPrologueRmsNorm);
      params["eps"] = m_.rmsEps;
      b_.launch("matmul_gate_up", std::move(params),
                {{"x", "x"},
                 {"gate", weightRef(gate)},
                 {"up", weightRef(up)},
                 {"norm", weightRef(layerWeight(layer, "ffn_norm"))},
                 {"out", "g"}});
    } else { // the compiler fuses gate and up only when one kernel can read both
      b_.launch("rms_norm", b_.normParams(),
                {{"x", "x"}, {"weight", weightRef(layerWeight(layer, "ffn_norm"))}, {"out", "xn"}});
      gateUpSeparately(layer, "xn");
    }
    matmul(layerWeight(layer, "ffn_down"), "g", "o", m_.ffn, m_.dim);
    const std::string nextNorm =
        layer + 1 < m_.layers ? layerWeight(layer + 1, "attn_norm") : "output_norm.weight";
    b_.launch(
        "add_rms_norm", b_.normParams(),
        {{"a", "x"}, {"b", "o"}, {"weight", weightRef(nextNorm)}, {"sum", "x"}, {"out", "xn"}});
  }

  void gateUpSeparately(uint32_t layer, const std::string &input) {
    matmul(layerWeight(layer, "ffn_gate"), input, "g", m_.dim, m_.ffn);
    matmul(layerWeight(layer, "ffn_up"), input, "u", m_.dim, m_.ffn);
    b_.launch("silu_mul", {{"n", int64_t{m_.ffn}}}, {{"gate", "g"}, {"up", "u"}, {"out", "g"}});
  }

  void matmul(const std::string &weight, const std::string &x, const std::string &out, int64_t k,
              int64_t n) {
    b_.launch("matmul", b_.matmulParams(weight, k, n),
              {{"x", x}, {"weight", weightRef(weight)}, {"out", out}});
  }

  void audit(const std::string &buffer, std::string_view point, int64_t n, bool isLogits,
             size_t producer, const std::string &input = "") {
    if (!options_.audits)
      return;
    b_.launch("audit_stats", {{"n", n}, {"point", std::string(point)}, {"is_logits", isLogits}},
              {{"x", buffer}, {"stats", fmt::format("audit.{}", point)}});
    b_.plan().audits.push_back({std::string(point), buffer, RowExtent::last(), producer, input});
  }

  static std::string cache(uint32_t layer, std::string_view which) {
    return fmt::format("kv.{}.{}", layer, which);
  }

  PhaseBuilder &b_;
  const bundle::ModelParams &m_;
  const LlamaPlanOptions &options_;
  int64_t qCols_;
  int64_t kvCols_;
};

void addBuffers(bundle::Manifest &m, const LlamaPlanOptions &options) {
  const bundle::ModelParams &p = m.model;
  auto add = [&](std::string name, BufferKind kind, BufferDType dtype, RowExtent rows,
                 uint64_t cols) {
    m.buffers.push_back({std::move(name), kind, dtype, rows, cols});
  };
  const uint64_t qCols = uint64_t{p.heads} * p.headDim;
  const uint64_t kvCols = uint64_t{p.kvHeads} * p.headDim;
  add("tokens", BufferKind::Input, BufferDType::I32, RowExtent::seq(), 1);
  add("positions", BufferKind::Input, BufferDType::I32, RowExtent::seq(), 1);
  add("x", BufferKind::Activation, BufferDType::F32, RowExtent::seq(), p.dim);
  add("xn", BufferKind::Activation, BufferDType::F32, RowExtent::seq(), p.dim);
  add("q", BufferKind::Activation, BufferDType::F32, RowExtent::seq(), qCols);
  add("k", BufferKind::Activation, BufferDType::F32, RowExtent::seq(), kvCols);
  add("v", BufferKind::Activation, BufferDType::F32, RowExtent::seq(), kvCols);
  add("att", BufferKind::Activation, BufferDType::F32, RowExtent::seq(), qCols);
  add("o", BufferKind::Activation, BufferDType::F32, RowExtent::seq(), p.dim);
  add("g", BufferKind::Activation, BufferDType::F32, RowExtent::seq(), p.ffn);
  add("u", BufferKind::Activation, BufferDType::F32, RowExtent::seq(), p.ffn);
  if (!options.fuse)
    add("x_final", BufferKind::Activation, BufferDType::F32, RowExtent::last(), p.dim);
  add("logits", BufferKind::Logits, BufferDType::F32, RowExtent::fixed(1), p.vocab);
  for (uint32_t layer = 0; layer < p.layers; ++layer)
    for (std::string_view which : {"k", "v"})
      add(fmt::format("kv.{}.{}", layer, which), BufferKind::Kv,
          options.kvF16 ? BufferDType::F16 : BufferDType::F32, RowExtent::context(), kvCols);
  if (options.audits)
    for (std::string_view point : {kFinalNormPoint, kLmHeadPoint})
      add(fmt::format("audit.{}", point), BufferKind::Audit, BufferDType::U8, RowExtent::fixed(1),
          bundle::kAuditRecordBytes);
  if (options.f16Gemm) {
    for (uint64_t k : {uint64_t{p.dim}, uint64_t{p.ffn}})
      add(fmt::format("x16.{}", k), BufferKind::Activation, BufferDType::F16, RowExtent::seq(), k);
    const uint64_t largest = uint64_t{p.dim} * std::max<uint64_t>({p.ffn, p.dim, qCols});
    for (std::string_view scratch : {"w16.0", "w16.1"})
      add(std::string(scratch), BufferKind::Scratch, BufferDType::F16, RowExtent::fixed(1),
          largest);
  }
}

/// The phase's plan with its LM head launch on the other route, as "lm_head=<route>".
void addLmHeadAlternative(bundle::BundleSpec &spec, bundle::PhasePlan &plan) {
  bundle::Manifest &m = spec.manifest;
  for (size_t i = 0; i < plan.launches.size(); ++i) {
    bundle::KernelSpec kernel = *m.findKernel(plan.launches[i].kernel);
    if (kernel.family != "lm_head")
      continue;
    const std::string route = kernel.route == "gemv" ? "gemm" : "gemv";
    kernel.name += "_" + route;
    kernel.entry = kernel.name;
    kernel.route = route;
    spec.kernelSources[kernel.name] =
        fmt::format("// mock compiler (tests only): no HIP emitted for {}\n", kernel.name);
    bundle::PhaseAlternative alternative{plan.launches, plan.audits};
    alternative.launches[i].kernel = kernel.name;
    m.kernels.push_back(std::move(kernel));
    plan.alternatives["lm_head=" + route] = std::move(alternative);
    return;
  }
}

} // namespace

bundle::BundleSpec buildLlamaPlan(const std::string &ggufPath, const LlamaPlanOptions &options) {
  const GgufFile gguf = GgufFile::open(ggufPath);
  bundle::BundleSpec spec;
  spec.sourceGguf = ggufPath;
  bundle::Manifest &m = spec.manifest;
  m.generator = "llama_plan_fixture (mock compiler, tests only)";
  m.model = bundle::readLlamaModelParams(gguf);
  m.options.audit = options.audits ? "default" : "none";
  m.options.fuse = options.fuse;
  m.options.fp16Weights = options.fp16Weights;
  m.options.targets = {"cpu"};
  m.weights.mode = options.weights;

  // Every tensor the plan reads, with the type the kernels will see.
  std::map<std::string, std::string> weightTypes;
  for (const GgufTensorInfo &tensor : gguf.tensors()) {
    const bool fp16 = std::find(options.fp16Weights.begin(), options.fp16Weights.end(),
                                tensor.name) != options.fp16Weights.end();
    bundle::WeightEntry entry;
    entry.name = tensor.name;
    entry.layout = std::string(fp16 ? bundle::kLayoutF16Rows : bundle::kLayoutGgml);
    m.weights.tensors.push_back(entry);
    weightTypes[tensor.name] = std::string(nameOf(fp16 ? TensorType::F16 : tensor.type));
  }
  addBuffers(m, options);
  for (PhaseKind phase : {PhaseKind::Prefill, PhaseKind::Decode}) {
    bundle::PhasePlan &plan = m.phase(phase);
    plan.seq = phase == PhaseKind::Prefill ? bundle::PhaseSeq{true, 1} : bundle::PhaseSeq{false, 1};
    plan.logits = "logits";
    PhaseBuilder builder(spec, phase, m.model, weightTypes, options);
    LlamaPhase(builder, m.model, options).build();
    if (options.lmHeadAlternatives)
      addLmHeadAlternative(spec, plan);
  }
  spec.irFiles["final.mlir"] = "// mock compiler (tests only): no IR\n";
  return spec;
}

std::string writeLlamaBundle(const std::string &ggufPath, const std::string &dir,
                             const LlamaPlanOptions &options) {
  bundle::writeBundle(buildLlamaPlan(ggufPath, options), dir);
  return dir;
}

} // namespace greta::test
