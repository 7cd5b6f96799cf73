//===- BundleWriter.cpp - A lowered gk module as a runtime bundle ---------===//
//
// One function per manifest section, each reading the gk/greta ops it describes. The kernel
// argument names and the Params layout come from codegen/KernelABI.h, the same table the
// emitted sources were made from, so a launch's args and its kernel's struct cannot disagree.
//
//===----------------------------------------------------------------------===//

#include "compiler/Bundle/BundleWriter.h"

#include "codegen/KernelABI.h"
#include "codegen/KernelEmitter.h"
#include "codegen/QuantFormats.h"
#include "codegen/Targets.h"
#include "dialects/graph/IR/GretaOps.h"
#include "dialects/kernel/IR/GKOps.h"
#ifdef GRETA_HAVE_HIP_CODE_OBJECTS
#include "runtime/hip/code_objects.h"
#endif

#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>

using namespace mlir;
namespace cg = ::greta::codegen;
namespace gr = mlir::greta;

namespace greta {
namespace {

constexpr llvm::StringLiteral kRopeFreqsTensor = "rope_freqs.weight";
constexpr llvm::StringLiteral kLogitsBuffer = "logits";
constexpr llvm::StringLiteral kFinalIrFile = "final.mlir";

/// A grid dimension the runtime pads with: exactly one block.
constexpr bundle::GridDim kUnitGridDim{/*mul=*/0, /*add=*/1, /*div=*/1};
constexpr size_t kGridDims = 3;

class SpecBuilder {
public:
  SpecBuilder(ModuleOp module, const BundleOptions &options)
      : module_(module), options_(options), symbols_(module) {}

  FailureOr<bundle::BundleSpec> build() {
    spec_.sourceGguf = options_.sourceGguf;
    bundle::Manifest &m = spec_.manifest;
    m.generator = options_.generator;
    if (failed(model()) || failed(compileOptions()) || failed(weights()) || failed(buffers()) ||
        failed(kernels()))
      return failure();
    for (auto plan : module_.getOps<gk::PlanOp>())
      if (failed(phase(plan)))
        return failure();
    for (gr::Phase phase : {gr::Phase::Prefill, gr::Phase::Decode})
      if (!seenPhases_.contains(gr::stringifyPhase(phase)))
        return module_.emitError()
                   << "bundle: the module has no gk.plan @" << gr::stringifyPhase(phase)
                   << " (run greta-lower-to-kernels first)",
               failure();
    std::string ir;
    llvm::raw_string_ostream os(ir);
    module_.print(os);
    spec_.irFiles = options_.irFiles;
    spec_.irFiles[kFinalIrFile.str()] = std::move(ir);
    spec_.threads = options_.threads;
    return std::move(spec_);
  }

private:
  //===--- model and options -----------------------------------------------===//

  LogicalResult model() {
    auto attr = module_->getAttrOfType<gr::ModelAttr>(gr::GretaDialect::kModelAttrName);
    if (!attr)
      return module_.emitError() << "bundle: the module has no " << gr::GretaDialect::kModelAttrName
                                 << " hyper-parameters",
             failure();
    bundle::ModelParams &p = spec_.manifest.model;
    p.arch = "llama";
    p.layers = static_cast<uint32_t>(attr.getLayers());
    p.dim = static_cast<uint32_t>(attr.getDim());
    p.heads = static_cast<uint32_t>(attr.getHeads());
    p.kvHeads = static_cast<uint32_t>(attr.getKvHeads());
    p.headDim = static_cast<uint32_t>(attr.getHeadDim());
    p.ffn = static_cast<uint32_t>(attr.getFfn());
    p.vocab = static_cast<uint32_t>(attr.getVocab());
    p.context = static_cast<uint32_t>(attr.getContextLength());
    p.ropeTheta = attr.getRopeTheta().convertToDouble();
    p.rmsEps = attr.getEps().convertToDouble();
    p.tiedEmbeddings = attr.getTied();
    for (auto weight : module_.getOps<gr::WeightOp>())
      if (weight.getGgufName() == kRopeFreqsTensor)
        p.ropeFreqs = kRopeFreqsTensor.str();
    return success();
  }

  LogicalResult compileOptions() {
    bundle::CompileOptions &o = spec_.manifest.options;
    o.audit = options_.audit;
    o.fuse = options_.fuse;
    for (const std::string &entry : options_.forcedRoutes) {
      auto [op, route] = llvm::StringRef(entry).split('=');
      o.forcedRoutes[op.trim().str()] = route.trim().str();
    }
    o.fp16Weights = options_.fp16Weights;
    o.kvCacheDtype = options_.kvCacheDtype;
    o.targets = options_.targets;
    if (o.targets.empty())
      o.targets = {"cpu", cg::defaultTarget().name.str()};
    // A bundle for the CPU alone carries the portable kernels (no matrix units assumed).
    std::string unknown;
    emitTarget_ = cg::kernelTarget(o.targets, unknown);
    if (!emitTarget_)
      return module_.emitError() << "bundle: unknown target '" << unknown
                                 << "' (known: " << cg::targetNames() << ")",
             failure();
    return success();
  }

  //===--- weights and buffers ---------------------------------------------===//

  LogicalResult weights() {
    bundle::WeightTable &table = spec_.manifest.weights;
    table.mode = options_.weights;
    for (auto weight : module_.getOps<gr::WeightOp>()) {
      bundle::WeightEntry entry;
      entry.name = weight.getGgufName().str();
      entry.layout = weight.getEffectivePolicy() == gr::WeightPolicy::Fp16
                         ? std::string(bundle::kLayoutF16Rows)
                         : std::string(bundle::kLayoutGgml);
      table.tensors.push_back(std::move(entry));
    }
    return success();
  }

  /// The bundle's row form of a buffer's first dimension.
  static bundle::RowExtent rowsOf(AffineExpr dim) {
    if (auto constant = dyn_cast<AffineConstantExpr>(dim))
      return bundle::RowExtent::fixed(static_cast<uint64_t>(constant.getValue()));
    if (isa<AffineSymbolExpr>(dim))
      return bundle::RowExtent::context();
    return bundle::RowExtent::seq();
  }

  LogicalResult buffers() {
    for (auto buffer : module_.getOps<gk::BufferOp>()) {
      if (buffer.getKind() == gk::BufferKind::Weight) {
        auto weight = symbols_.lookup<gr::WeightOp>(buffer.getSourceAttr().getValue());
        if (!weight)
          return buffer.emitOpError("bundle: source is not a greta.weight"), failure();
        argValues_[buffer.getSymName()] = ("@" + weight.getGgufName()).str();
        continue;
      }
      bundle::BufferSpec spec;
      spec.name = buffer.getSymName().str();
      argValues_[buffer.getSymName()] = spec.name;
      switch (buffer.getKind()) {
      case gk::BufferKind::Activation:
        spec.kind = bundle::BufferKind::Activation;
        break;
      case gk::BufferKind::Input:
        spec.kind = bundle::BufferKind::Input;
        break;
      case gk::BufferKind::KV:
        spec.kind = bundle::BufferKind::Kv;
        break;
      case gk::BufferKind::Logits:
        spec.kind = bundle::BufferKind::Logits;
        break;
      case gk::BufferKind::Audit:
        spec.kind = bundle::BufferKind::Audit;
        break;
      case gk::BufferKind::Scratch:
        spec.kind = bundle::BufferKind::Scratch;
        break;
      case gk::BufferKind::Weight:
        llvm_unreachable("handled above");
      }
      if (buffer.getKind() == gk::BufferKind::Audit) {
        spec.dtype = bundle::BufferDType::U8;
        spec.rows = bundle::RowExtent::fixed(1);
        spec.cols = static_cast<uint64_t>(buffer.getBytes().value_or(0));
      } else {
        std::optional<AffineMap> shape = buffer.getShape();
        Type element = buffer.getElementType().value_or(Type());
        if (!shape)
          return buffer.emitOpError("bundle: a ") << gk::stringifyBufferKind(buffer.getKind())
                                                  << " buffer is sized by shape(...), not bytes",
                 failure();
        if (element.isF32())
          spec.dtype = bundle::BufferDType::F32;
        else if (element.isInteger(32))
          spec.dtype = bundle::BufferDType::I32;
        else if (element.isF16())
          spec.dtype = bundle::BufferDType::F16;
        else
          return buffer.emitOpError("bundle: element type ")
                     << element << " is not one bundle format " << bundle::kFormatVersion
                     << " stores (f32; i32 for inputs; f16 for scratch, binary16 activations and KV caches)",
                 failure();
        spec.rows = rowsOf(shape->getResult(0));
        spec.cols = 1;
        if (shape->getNumResults() > 1)
          if (auto cols = dyn_cast<AffineConstantExpr>(shape->getResult(1)))
            spec.cols = static_cast<uint64_t>(cols.getValue());
      }
      spec_.manifest.buffers.push_back(std::move(spec));
    }
    return success();
  }

  //===--- kernels ---------------------------------------------------------===//

  /// A gk param as a manifest value: integers, numbers, booleans, strings; a symbol (rope
  /// freqs) as the GGUF name of the weight it names.
  FailureOr<bundle::ParamValue> paramValue(gk::KernelOp kernel, NamedAttribute param) {
    Attribute value = param.getValue();
    if (auto b = dyn_cast<BoolAttr>(value))
      return bundle::ParamValue(b.getValue());
    if (auto i = dyn_cast<IntegerAttr>(value))
      return bundle::ParamValue(static_cast<int64_t>(i.getInt()));
    if (auto f = dyn_cast<FloatAttr>(value))
      return bundle::ParamValue(f.getValueAsDouble());
    if (auto s = dyn_cast<StringAttr>(value))
      return bundle::ParamValue(s.str());
    if (auto ref = dyn_cast<FlatSymbolRefAttr>(value)) {
      auto weight = symbols_.lookup<gr::WeightOp>(ref.getValue());
      if (!weight)
        return kernel.emitOpError("bundle: params.")
                   << param.getName() << " names " << ref << ", which is not a greta.weight",
               failure();
      return bundle::ParamValue(weight.getGgufName().str());
    }
    return kernel.emitOpError("bundle: params.")
               << param.getName() << " = " << value << " has no manifest form",
           failure();
  }

  LogicalResult kernels() {
    for (auto kernel : module_.getOps<gk::KernelOp>()) {
      FailureOr<cg::EmittedKernel> emitted = cg::emitKernel(kernel, *emitTarget_);
      if (failed(emitted))
        return failure();
      bool hasPrologue = !kernel.getPrologue().empty();
      bool hasEpilogue = !kernel.getEpilogue().empty();
      gk::KernelFamily family = kernel.getFamily();

      bundle::KernelSpec spec;
      spec.name = emitted->name;
      spec.family = gk::stringifyKernelFamily(family).str();
      if (std::optional<gk::KernelRoute> route = kernel.getRoute())
        spec.route = gk::stringifyKernelRoute(*route).str();
      spec.entry = emitted->entry;
      spec.earlyStart = emitted->earlyStart;
      if (DictionaryAttr params = kernel.getParamsAttr())
        for (NamedAttribute param : params) {
          FailureOr<bundle::ParamValue> value = paramValue(kernel, param);
          if (failed(value))
            return failure();
          spec.params[param.getName().str()] = *value;
        }
      if (std::optional<gr::QuantType> quant = kernel.getQuant())
        spec.params["quant"] = cg::getQuantFormat(*quant).ggmlName.str();
      // matmul_qkv's v type, where it differs from q and k's: a ggml name, as `quant` is.
      if (auto vQuant = kernel.getParamsAttr() ? kernel.getParamsAttr().getAs<StringAttr>("v_quant")
                                               : StringAttr())
        if (std::optional<gr::QuantType> quant = gr::symbolizeQuantType(vQuant.getValue()))
          spec.params["v_quant"] = cg::getQuantFormat(*quant).ggmlName.str();
      if (family == gk::KernelFamily::Matmul || family == gk::KernelFamily::MatmulGateUp ||
          family == gk::KernelFamily::MatmulQKV || family == gk::KernelFamily::CastF16)
        spec.params["prologue"] = std::string(hasPrologue ? "rms_norm" : "none");
      if (family == gk::KernelFamily::Matmul)
        spec.params["epilogue"] = std::string(hasEpilogue ? "residual_add" : "none");
      if (cg::hasRopeFreqsField(family) && !spec.params.count("freqs"))
        spec.params["freqs"] = std::string("none");
      if (std::optional<gk::TilesAttr> tiles = kernel.getTiles()) {
        spec.params["tile_m"] = tiles->getTileM();
        spec.params["tile_n"] = tiles->getTileN();
        spec.params["tile_k"] = tiles->getTileK();
        spec.params["split_k"] = tiles->getSplitK();
      }
      if (!emitted->dtypeA.empty()) {
        // The types the product computes in (the audit's lm_head_dtype_*): f32 on vector
        // ALUs; f16 operands with f32 accumulators on the matrix units.
        spec.params["dtype_a"] = emitted->dtypeA;
        spec.params["dtype_b"] = emitted->dtypeB;
        spec.params["accum_dtype"] = emitted->accumDtype;
      }
      spec.params["block"] = emitted->blockThreads;
      if (emitted->dynamicSharedBytes > 0)
        spec.params["shared_bytes"] = emitted->dynamicSharedBytes;
      spec.params["param_fields"] = emitted->paramFields;
      spec_.kernelSources[spec.name] = std::move(emitted->source);
      spec_.manifest.kernels.push_back(std::move(spec));
    }
    return success();
  }

  //===--- phases ----------------------------------------------------------===//

  /// The grid of a launch, padded to three dimensions.
  FailureOr<std::vector<bundle::GridDim>> grid(Operation *launch, AffineMap map) {
    std::vector<bundle::GridDim> dims;
    for (AffineExpr result : map.getResults()) {
      std::optional<gk::GridDim> dim = gk::decomposeGridDim(result);
      if (!dim)
        return launch->emitOpError("bundle: grid is not (mul * s + add) ceildiv div"), failure();
      dims.push_back({dim->mul, dim->add, dim->div});
    }
    while (dims.size() < kGridDims)
      dims.push_back(kUnitGridDim);
    return dims;
  }

  /// The manifest launch of a gk.launch or gk.audit_launch; `written` gets the buffers it
  /// writes.
  FailureOr<bundle::Launch> launch(Operation *op, FlatSymbolRefAttr kernelRef, ArrayAttr buffers,
                                   AffineMap gridMap, SmallVectorImpl<std::string> &written) {
    auto kernel = symbols_.lookup<gk::KernelOp>(kernelRef.getValue());
    if (!kernel)
      return op->emitOpError("bundle: ") << kernelRef << " is not a gk.kernel", failure();
    SmallVector<cg::KernelArg> args =
        cg::getKernelArgs(kernel.getFamily(), !kernel.getPrologue().empty(),
                          !kernel.getEpilogue().empty(), kernel.hasF16Weights());
    if (args.size() != buffers.size())
      return op->emitOpError("bundle: binds ")
                 << buffers.size() << " buffers; " << kernelRef << " takes " << args.size(),
             failure();
    bundle::Launch out;
    out.kernel = kernelRef.getValue().str();
    for (auto [arg, ref] : llvm::zip_equal(args, buffers.getAsRange<FlatSymbolRefAttr>())) {
      auto it = argValues_.find(ref.getValue());
      if (it == argValues_.end())
        return op->emitOpError("bundle: ") << ref << " is not a gk.buffer", failure();
      out.args[arg.name.str()] = it->second;
      if (arg.access != cg::ArgAccess::Read)
        written.push_back(it->second);
    }
    FailureOr<std::vector<bundle::GridDim>> dims = grid(op, gridMap);
    if (failed(dims))
      return failure();
    out.grid = std::move(*dims);
    return out;
  }

  /// "final_rmsnorm", "lm_head", "layer.3.output".
  static std::string pointName(gk::AuditLaunchOp audit) {
    if (audit.getPoint() == gr::AuditPoint::LayerOutput)
      return llvm::formatv("layer.{0}.output", audit.getLayer().value_or(0)).str();
    return gr::stringifyAuditPoint(audit.getPoint()).str();
  }

  /// The input of the norm an audit records (the pre-norm hidden state the CPU probe starts
  /// from): rms_norm's `x`, add_rms_norm's `sum`; empty for other producers or an in-place norm.
  std::string auditInput(const bundle::Launch &producer) {
    auto kernel = symbols_.lookup<gk::KernelOp>(producer.kernel);
    if (!kernel)
      return {};
    auto arg = [&](const char *name) {
      auto it = producer.args.find(name);
      return it == producer.args.end() ? std::string() : it->second;
    };
    if (kernel.getFamily() == gk::KernelFamily::AddRmsNorm)
      return arg("sum");
    if (kernel.getFamily() == gk::KernelFamily::RmsNorm && arg("x") != arg("out"))
      return arg("x");
    return {};
  }

  LogicalResult phase(gk::PlanOp plan) {
    gr::Phase kind = plan.getPhase();
    seenPhases_.insert(gr::stringifyPhase(kind));
    bundle::PhasePlan &out = spec_.manifest.phase(
        kind == gr::Phase::Prefill ? bundle::PhaseKind::Prefill : bundle::PhaseKind::Decode);
    out.seq = kind == gr::Phase::Prefill ? bundle::PhaseSeq{true, 1} : bundle::PhaseSeq{false, 1};
    out.logits = kLogitsBuffer.str();
    // The launch that last wrote each buffer, for the audit points.
    llvm::StringMap<size_t> lastWriter;
    for (Operation &op : plan.getBody().front()) {
      SmallVector<std::string> written;
      FailureOr<bundle::Launch> launched = failure();
      std::optional<bundle::AuditPoint> audit;
      if (auto l = dyn_cast<gk::LaunchOp>(op)) {
        launched = launch(&op, l.getKernelAttr(), l.getBuffers(), l.getGrid(), written);
      } else if (auto a = dyn_cast<gk::AuditLaunchOp>(op)) {
        launched = launch(&op, a.getKernelAttr(), a.getBuffers(), a.getGrid(), written);
        if (failed(launched))
          return failure();
        auto x = launched->args.find("x");
        std::string audited = x == launched->args.end() ? std::string() : x->second;
        auto writer = lastWriter.find(audited);
        if (writer == lastWriter.end())
          return op.emitOpError("bundle: audits buffer '")
                     << audited << "', which no earlier launch of @" << plan.getSymName()
                     << " writes",
                 failure();
        audit = bundle::AuditPoint{pointName(a), audited, bundle::RowExtent::last(), writer->second,
                                   auditInput(out.launches[writer->second])};
      }
      if (failed(launched))
        return failure();
      for (const std::string &buffer : written)
        lastWriter[buffer] = out.launches.size();
      out.launches.push_back(std::move(*launched));
      if (audit)
        out.audits.push_back(std::move(*audit));
    }
    return success();
  }

  ModuleOp module_;
  const BundleOptions &options_;
  SymbolTable symbols_;
  bundle::BundleSpec spec_;
  const cg::TargetDesc *emitTarget_ = nullptr;
  /// gk.buffer name → launch arg value: the buffer's name, or "@<gguf name>" for a weight.
  llvm::StringMap<std::string> argValues_;
  llvm::StringSet<> seenPhases_;
};

} // namespace

FailureOr<bundle::BundleSpec> buildBundleSpec(ModuleOp module, const BundleOptions &options) {
  return SpecBuilder(module, options).build();
}

LogicalResult writeBundleFromModule(ModuleOp module, const BundleOptions &options) {
  if (options.outputDir.empty())
    return module.emitError() << "bundle: no output directory", failure();
  FailureOr<bundle::BundleSpec> spec = buildBundleSpec(module, options);
  if (failed(spec))
    return failure();
  std::string error;
  if (!options.codeObjectTargets.empty()) {
#ifdef GRETA_HAVE_HIP_CODE_OBJECTS
    std::vector<hip::CodeObjectTarget> targets;
    for (const std::string &name : options.codeObjectTargets) {
      const cg::TargetDesc *target = cg::findTarget(name);
      if (!target || target->vendor == cg::Vendor::Cpu)
        return module.emitError() << "bundle: '" << name
                                  << "' is not a GPU target to compile code objects for",
               failure();
      targets.push_back({name, static_cast<int>(target->warpSize)});
    }
    if (!hip::tryAddCodeObjects(*spec, targets, &error))
      return module.emitError() << "bundle: " << error, failure();
#else
    return module.emitError() << "bundle: code objects for " << options.codeObjectTargets.front()
                              << " need the HIP backend, which this greta-compile was built "
                                 "without (GRETA_BUILD_HIP=OFF)",
           failure();
#endif
  }
  if (!bundle::tryWriteBundle(*spec, options.outputDir, &error))
    return module.emitError() << "bundle: " << error, failure();
  return success();
}

} // namespace greta
