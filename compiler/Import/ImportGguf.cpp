//===- ImportGguf.cpp - GGUF Llama model → greta IR -----------------------===//
//
// The GGUF is read through the runtime's reader (which validates the whole container) via its
// non-throwing entry points; the hyper-parameters come from the same readLlamaModelParams the
// bundle's manifest uses, so the two never disagree. What the importer adds: every tensor the
// forward pass needs must exist with the shape the hyper-parameters imply and a type GRETA
// computes with, and each failure names the file and the tensor.
//
//===----------------------------------------------------------------------===//

#include "compiler/Import/ImportGguf.h"

#include "dialects/graph/IR/GretaOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "runtime/bundle/model_params_try.h"
#include "runtime/formats/gguf_try.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>

namespace gir = mlir::greta;

namespace greta {
namespace {

/// The IR's quant type for a GGUF tensor type, or nullopt for types GRETA cannot compute with.
std::optional<gir::QuantType> toQuantType(TensorType type) {
  switch (type) {
  case TensorType::F32:
    return gir::QuantType::F32;
  case TensorType::F16:
    return gir::QuantType::F16;
  case TensorType::BF16:
    return gir::QuantType::BF16;
  case TensorType::Q8_0:
    return gir::QuantType::Q8_0;
  case TensorType::Q4_0:
    return gir::QuantType::Q4_0;
  case TensorType::Q4_K:
    return gir::QuantType::Q4_K;
  case TensorType::Q5_K:
    return gir::QuantType::Q5_K;
  case TensorType::Q6_K:
    return gir::QuantType::Q6_K;
  default:
    return std::nullopt;
  }
}

/// "[256, 512]": dims as the GGUF lists them (innermost first).
std::string formatDims(llvm::ArrayRef<int64_t> dims) {
  return "[" + llvm::join(llvm::map_range(dims, [](int64_t d) { return std::to_string(d); }),
                          ", ") +
         "]";
}

/// Builds the module for one GGUF. Every check fails with a message in `error_`.
class Importer {
public:
  Importer(const GgufFile &gguf, const bundle::ModelParams &params, mlir::MLIRContext *context)
      : gguf_(gguf), p_(params), context_(context), builder_(context),
        fileLoc_(mlir::FileLineColLoc::get(context, gguf.path(), 0, 0)) {}

  mlir::OwningOpRef<mlir::ModuleOp> run(std::string *error);

private:
  mlir::LogicalResult fail(const llvm::Twine &message) {
    error_ = (llvm::Twine(gguf_.path()) + ": " + message).str();
    return mlir::failure();
  }

  mlir::LogicalResult checkHyperParameters();
  mlir::LogicalResult declareWeights(mlir::ModuleOp module);
  /// The symbol of tensor `name`, checked to have `dims`; fails naming the tensor.
  mlir::FailureOr<mlir::FlatSymbolRefAttr> requireWeight(llvm::StringRef name,
                                                         llvm::ArrayRef<int64_t> dims);
  mlir::LogicalResult buildForward(mlir::ModuleOp module);

  mlir::RankedTensorType activation(int64_t cols) {
    return mlir::RankedTensorType::get({mlir::ShapedType::kDynamic, cols}, builder_.getF32Type());
  }

  const GgufFile &gguf_;
  const bundle::ModelParams &p_;
  mlir::MLIRContext *context_;
  mlir::OpBuilder builder_;
  mlir::Location fileLoc_;
  std::string error_;
  /// GGUF tensor name → its weight symbol and type.
  llvm::StringMap<std::pair<mlir::FlatSymbolRefAttr, gir::WeightType>> weights_;
};

mlir::LogicalResult Importer::checkHyperParameters() {
  if (p_.heads % p_.kvHeads != 0)
    return fail(llvm::formatv("llama.attention.head_count ({0}) is not a multiple of "
                              "llama.attention.head_count_kv ({1})",
                              p_.heads, p_.kvHeads));
  if (p_.headDim % 2 != 0)
    return fail(llvm::formatv("head dimension {0} is odd; RoPE rotates pairs", p_.headDim));
  if (!(p_.ropeTheta > 0.0))
    return fail(llvm::formatv("llama.rope.freq_base = {0} must be positive", p_.ropeTheta));
  if (!(p_.rmsEps > 0.0))
    return fail(llvm::formatv("llama.attention.layer_norm_rms_epsilon = {0} must be positive",
                              p_.rmsEps));
  return mlir::success();
}

mlir::LogicalResult Importer::declareWeights(mlir::ModuleOp module) {
  builder_.setInsertionPointToEnd(module.getBody());
  llvm::StringMap<unsigned> usedSymbols;
  for (const GgufTensorInfo &tensor : gguf_.tensors()) {
    std::optional<gir::QuantType> quant = toQuantType(tensor.type);
    if (!quant)
      return fail(llvm::formatv("tensor '{0}' has type {1}; GRETA computes with F32, F16, BF16, "
                                "Q8_0, Q4_0, Q4_K, Q5_K and Q6_K",
                                tensor.name, nameOf(tensor.type)));
    if (tensor.dims.empty() || tensor.dims.size() > 2)
      return fail(llvm::formatv("tensor '{0}' has {1} dimensions; weights have 1 or 2",
                                tensor.name, tensor.dims.size()));
    llvm::SmallVector<int64_t, 2> shape(tensor.dims.begin(), tensor.dims.end());
    std::string symbol = weightSymbolName(tensor.name);
    // Distinct GGUF names could map to one symbol ("a.b", "a_b"); number the later ones.
    if (unsigned seen = usedSymbols[symbol]++)
      symbol += "_" + std::to_string(seen);
    auto type = gir::WeightType::get(context_, shape, *quant);
    auto loc = mlir::NameLoc::get(builder_.getStringAttr(tensor.name), fileLoc_);
    builder_.create<gir::WeightOp>(loc, symbol, type, tensor.name,
                                   /*policy=*/gir::WeightPolicyAttr());
    weights_[tensor.name] = {mlir::FlatSymbolRefAttr::get(context_, symbol), type};
  }
  return mlir::success();
}

mlir::FailureOr<mlir::FlatSymbolRefAttr>
Importer::requireWeight(llvm::StringRef name, llvm::ArrayRef<int64_t> dims) {
  auto it = weights_.find(name);
  if (it == weights_.end()) {
    (void)fail(llvm::formatv("missing tensor '{0}' (a llama model with {1} layers needs it)",
                             name, p_.layers));
    return mlir::failure();
  }
  llvm::ArrayRef<int64_t> shape = it->second.second.getShape();
  if (shape != dims) {
    (void)fail(llvm::formatv("tensor '{0}' has dims {1}; the hyper-parameters need {2}", name,
                             formatDims(shape), formatDims(dims)));
    return mlir::failure();
  }
  return it->second.first;
}

mlir::LogicalResult Importer::buildForward(mlir::ModuleOp module) {
  const int64_t dim = p_.dim, heads = p_.heads, kvHeads = p_.kvHeads, headDim = p_.headDim;
  const int64_t qCols = heads * headDim, kvCols = kvHeads * headDim;
  const int64_t dyn = mlir::ShapedType::kDynamic;

  // Every tensor the forward pass reads, checked before any op is built.
  auto tokenEmbd = requireWeight("token_embd.weight", {dim, p_.vocab});
  auto outputNorm = requireWeight("output_norm.weight", {dim});
  if (mlir::failed(tokenEmbd) || mlir::failed(outputNorm))
    return mlir::failure();
  mlir::FlatSymbolRefAttr lmHeadWeight = *tokenEmbd;
  if (!p_.tiedEmbeddings) {
    auto output = requireWeight("output.weight", {dim, p_.vocab});
    if (mlir::failed(output))
      return mlir::failure();
    lmHeadWeight = *output;
  }
  mlir::FlatSymbolRefAttr freqs;
  if (p_.ropeFreqs) {
    auto weight = requireWeight(*p_.ropeFreqs, {headDim / 2});
    if (mlir::failed(weight))
      return mlir::failure();
    freqs = *weight;
  }

  struct Layer {
    mlir::FlatSymbolRefAttr attnNorm, q, k, v, o, ffnNorm, gate, up, down;
  };
  llvm::SmallVector<Layer> layers;
  for (uint32_t i = 0; i < p_.layers; ++i) {
    auto name = [i](llvm::StringRef what) {
      return llvm::formatv("blk.{0}.{1}.weight", i, what).str();
    };
    Layer layer;
    struct Need {
      mlir::FlatSymbolRefAttr *slot;
      const char *what;
      llvm::SmallVector<int64_t, 2> dims;
    };
    Need needs[] = {
        {&layer.attnNorm, "attn_norm", {dim}},     {&layer.q, "attn_q", {dim, qCols}},
        {&layer.k, "attn_k", {dim, kvCols}},       {&layer.v, "attn_v", {dim, kvCols}},
        {&layer.o, "attn_output", {qCols, dim}},   {&layer.ffnNorm, "ffn_norm", {dim}},
        {&layer.gate, "ffn_gate", {dim, p_.ffn}},  {&layer.up, "ffn_up", {dim, p_.ffn}},
        {&layer.down, "ffn_down", {p_.ffn, dim}},
    };
    for (Need &need : needs) {
      auto weight = requireWeight(name(need.what), need.dims);
      if (mlir::failed(weight))
        return mlir::failure();
      *need.slot = *weight;
    }
    layers.push_back(layer);
  }

  // One KV cache per layer, f32 as the bundle's kv buffers are.
  builder_.setInsertionPointToEnd(module.getBody());
  llvm::SmallVector<mlir::FlatSymbolRefAttr> caches;
  for (uint32_t i = 0; i < p_.layers; ++i) {
    std::string symbol = "kv" + std::to_string(i);
    auto type =
        gir::KVCacheType::get(context_, p_.context, kvHeads, headDim, builder_.getF32Type());
    builder_.create<gir::KVCacheOp>(fileLoc_, symbol, type);
    caches.push_back(mlir::FlatSymbolRefAttr::get(context_, symbol));
  }

  auto indexVector = mlir::RankedTensorType::get({dyn}, builder_.getI32Type());
  auto logitsType = activation(p_.vocab);
  auto funcType = builder_.getFunctionType({indexVector, indexVector}, {logitsType});
  auto forward = builder_.create<mlir::func::FuncOp>(fileLoc_, "forward", funcType);
  mlir::Block *body = forward.addEntryBlock();
  builder_.setInsertionPointToStart(body);
  mlir::Value tokens = body->getArgument(0), positions = body->getArgument(1);

  mlir::FloatAttr eps = builder_.getF32FloatAttr(p_.rmsEps);
  mlir::FloatAttr theta = builder_.getF32FloatAttr(p_.ropeTheta);
  auto rows = activation(dim);

  mlir::Value x =
      builder_.create<gir::EmbeddingOp>(fileLoc_, rows, tokens, *tokenEmbd).getResult();
  for (auto [i, layer] : llvm::enumerate(layers)) {
    auto loc = mlir::NameLoc::get(builder_.getStringAttr("blk." + std::to_string(i)), fileLoc_);
    auto matmul = [&](mlir::Value input, mlir::FlatSymbolRefAttr weight, int64_t cols) {
      return builder_
          .create<gir::MatmulOp>(loc, activation(cols), input, weight,
                                 /*norm_weight=*/nullptr, /*norm_eps=*/nullptr,
                                 /*residual=*/nullptr, /*up_weight=*/nullptr,
                                 /*route=*/nullptr)
          .getResult();
    };
    auto rope = [&](mlir::Value input, int64_t ropeHeads) {
      return builder_
          .create<gir::RopeOp>(loc, input.getType(), input, positions,
                               builder_.getI64IntegerAttr(ropeHeads),
                               builder_.getI64IntegerAttr(headDim), theta, freqs)
          .getResult();
    };
    // Attention block.
    mlir::Value n = builder_.create<gir::RmsNormOp>(loc, rows, x, layer.attnNorm, eps);
    mlir::Value q = matmul(n, layer.q, qCols);
    mlir::Value k = matmul(n, layer.k, kvCols);
    mlir::Value v = matmul(n, layer.v, kvCols);
    mlir::Value qr = rope(q, heads);
    mlir::Value kr = rope(k, kvHeads);
    builder_.create<gir::KVAppendOp>(loc, kr, v, positions, caches[i]);
    mlir::Value a = builder_.create<gir::AttentionOp>(
        loc, qr.getType(), qr, positions, caches[i], builder_.getI64IntegerAttr(heads),
        builder_.getI64IntegerAttr(kvHeads), builder_.getUnitAttr(), /*scale=*/nullptr);
    mlir::Value o = matmul(a, layer.o, dim);
    mlir::Value h = builder_.create<gir::AddOp>(loc, x, o);
    // Feed-forward block.
    mlir::Value n2 = builder_.create<gir::RmsNormOp>(loc, rows, h, layer.ffnNorm, eps);
    mlir::Value g = matmul(n2, layer.gate, p_.ffn);
    mlir::Value u = matmul(n2, layer.up, p_.ffn);
    mlir::Value gu = builder_.create<gir::SiluMulOp>(loc, g, u);
    mlir::Value d = matmul(gu, layer.down, dim);
    x = builder_.create<gir::AddOp>(loc, h, d);
  }
  mlir::Value f = builder_.create<gir::RmsNormOp>(fileLoc_, rows, x, *outputNorm, eps);
  mlir::Value logits =
      builder_
          .create<gir::LmHeadOp>(fileLoc_, logitsType, f, lmHeadWeight,
                                 /*last_only=*/nullptr, /*route=*/nullptr)
          .getResult();
  builder_.create<mlir::func::ReturnOp>(fileLoc_, logits);
  return mlir::success();
}

mlir::OwningOpRef<mlir::ModuleOp> Importer::run(std::string *error) {
  mlir::OwningOpRef<mlir::ModuleOp> module = mlir::ModuleOp::create(fileLoc_);
  auto fail = [&]() -> mlir::OwningOpRef<mlir::ModuleOp> {
    if (error)
      *error = error_;
    return nullptr;
  };
  if (mlir::failed(checkHyperParameters()))
    return fail();
  auto model = gir::ModelAttr::get(
      context_, p_.layers, p_.dim, p_.heads, p_.kvHeads, p_.headDim, p_.ffn, p_.vocab,
      p_.context, llvm::APFloat(p_.ropeTheta), llvm::APFloat(p_.rmsEps), p_.tiedEmbeddings);
  (*module)->setAttr(gir::GretaDialect::kModelAttrName, model);
  if (mlir::failed(declareWeights(*module)) || mlir::failed(buildForward(*module)))
    return fail();

  // The checks above should make this unreachable; if not, say what the verifier said.
  std::string diagnostics;
  {
    mlir::ScopedDiagnosticHandler capture(context_, [&](mlir::Diagnostic &diag) {
      llvm::raw_string_ostream(diagnostics) << diag.str() << "\n";
      return mlir::success();
    });
    if (mlir::failed(mlir::verify(*module))) {
      error_ = gguf_.path() + ": the imported IR does not verify: " + diagnostics;
      return fail();
    }
  }
  return module;
}

} // namespace

std::string weightSymbolName(llvm::StringRef ggufName) {
  llvm::StringRef name = ggufName;
  name.consume_back(".weight");
  std::string symbol;
  if (name.consume_front("blk.")) {
    auto [layer, rest] = name.split('.');
    symbol = ("blk" + layer + "_").str();
    name = rest;
  }
  for (char c : name)
    symbol += llvm::isAlnum(c) ? c : '_';
  return symbol;
}

mlir::OwningOpRef<mlir::ModuleOp> importGguf(llvm::StringRef path, mlir::MLIRContext *context,
                                             std::string *error) {
  context->loadDialect<gir::GretaDialect, mlir::func::FuncDialect>();
  std::unique_ptr<GgufFile> gguf = tryOpenGguf(path.str(), error);
  if (!gguf)
    return nullptr;
  std::optional<bundle::ModelParams> params = bundle::tryReadLlamaModelParams(*gguf, error);
  if (!params)
    return nullptr;
  return Importer(*gguf, *params, context).run(error);
}

} // namespace greta
