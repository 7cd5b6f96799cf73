//===- SelectRoutes.cpp - GEMV for decode, GEMM for prefill ---------------===//
//
// The route of a matrix product follows from how many rows it multiplies: decode's products and
// every LM head multiply one row and are bound by reading the weights (vector ALUs, split-K),
// prefill's other products multiply many and are bound by arithmetic (matrix units). The route
// is an attribute so that a suspicious one can be forced from the command line
// (`--force-route lm_head=gemm`) and compared by the audits.
//
// The weights' device precision is chosen here too: it is part of the same decision (which
// layout the kernel reads) and, like the route, must be visible in the IR.
//
//===----------------------------------------------------------------------===//

#include "compiler/Transforms/Passes.h"

#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/Debug.h"

#include <map>

#define DEBUG_TYPE "greta-select-routes"

namespace mlir::greta {
#define GEN_PASS_DEF_SELECTROUTES
#include "compiler/Transforms/Passes.h.inc"
} // namespace mlir::greta

using namespace mlir;
using namespace mlir::greta;

namespace {

/// Which ops a force-route entry applies to.
enum class RoutedOp { Matmul, LmHead };

/// The parsed `force-route` entries: a route per op kind, per phase or for both.
class ForcedRoutes {
public:
  /// Parses `OP=ROUTE` / `OP.PHASE=ROUTE` entries; the error names the entry and what is valid.
  static FailureOr<ForcedRoutes> parse(ArrayRef<std::string> entries, Location loc) {
    ForcedRoutes forced;
    for (StringRef entry : entries) {
      auto [target, routeName] = entry.split('=');
      auto [opName, phaseName] = target.split('.');
      std::optional<RoutedOp> op = llvm::StringSwitch<std::optional<RoutedOp>>(opName.trim())
                                       .Case("matmul", RoutedOp::Matmul)
                                       .Case("lm_head", RoutedOp::LmHead)
                                       .Default(std::nullopt);
      std::optional<Route> route = symbolizeRoute(routeName.trim());
      std::optional<Phase> phase;
      if (!phaseName.empty())
        phase = symbolizePhase(phaseName.trim());
      if (!op || !route || (!phaseName.empty() && !phase)) {
        emitError(loc) << "greta-select-routes: force-route entry '" << entry
                       << "' is not OP=ROUTE or OP.PHASE=ROUTE (OP: matmul, lm_head; "
                          "PHASE: prefill, decode; ROUTE: gemv, gemm)";
        return failure();
      }
      forced.routes[key(*op, phase)] = *route;
    }
    return forced;
  }

  /// The forced route of `op` in `phase`: a phase-specific entry, else a general one.
  std::optional<Route> lookup(RoutedOp op, Phase phase) const {
    for (std::optional<Phase> which : {std::optional<Phase>(phase), std::optional<Phase>()})
      if (auto it = routes.find(key(op, which)); it != routes.end())
        return it->second;
    return std::nullopt;
  }

private:
  static std::pair<int, int> key(RoutedOp op, std::optional<Phase> phase) {
    return {static_cast<int>(op), phase ? static_cast<int>(*phase) : -1};
  }
  std::map<std::pair<int, int>, Route> routes;
};

/// The `fp16-weights` classes.
struct Fp16Classes {
  bool lmHead = false;
  bool embeddings = false;
  bool all = false;
};

} // namespace

/// The route of `kind` in `phase` when nothing is forced. The LM head projects one row in both
/// phases (prefill's logits are the last row's), so it reads its weights like decode: on the
/// gemv route (measured at pp512 on an H200: the 128,256 x 4096 Q6_K head 608 µs as a one-row
/// gemm, ≈ 155 µs as a gemv; pp512 +1.0 %).
static Route defaultRoute(RoutedOp kind, Phase phase) {
  if (kind == RoutedOp::LmHead)
    return Route::Gemv;
  return phase == Phase::Decode ? Route::Gemv : Route::Gemm;
}

/// Parses the `fp16-weights` classes, naming a bad entry and the valid ones.
static FailureOr<Fp16Classes> parseFp16Classes(ArrayRef<std::string> entries, Location loc) {
  Fp16Classes classes;
  for (StringRef entry : entries) {
    entry = entry.trim();
    if (entry == "lm_head")
      classes.lmHead = true;
    else if (entry == "embeddings")
      classes.embeddings = true;
    else if (entry == "all")
      classes.all = true;
    else {
      emitError(loc) << "greta-select-routes: fp16-weights class '" << entry
                     << "' is not one of lm_head, embeddings, all";
      return failure();
    }
  }
  return classes;
}

/// Sets `route` on `op` unless it already has one that nothing forces away.
template <typename OpTy>
static void assignRoute(OpTy op, RoutedOp kind, Phase phase, const ForcedRoutes &forced) {
  std::optional<Route> route = forced.lookup(kind, phase);
  if (!route && op.getRoute())
    return; // chosen in the input IR; respected
  op.setRouteAttr(RouteAttr::get(op.getContext(), route.value_or(defaultRoute(kind, phase))));
}

/// Marks the weight `ref` names as dequantized to fp16 on the device.
static void setFp16(Operation *user, FlatSymbolRefAttr ref, SymbolTableCollection &symbols) {
  if (auto weight = symbols.lookupNearestSymbolFrom<WeightOp>(user, ref))
    weight.setPolicy(WeightPolicy::Fp16);
}

/// The `kv-cache-dtype` option as a type: f32 or f16, or a null type when empty (the caches keep
/// theirs).
static FailureOr<Type> parseKVCacheDtype(StringRef name, ModuleOp module) {
  if (name.empty())
    return Type();
  Builder b(module.getContext());
  Type dtype = llvm::StringSwitch<Type>(name)
                   .Case("f32", b.getF32Type())
                   .Case("f16", b.getF16Type())
                   .Default(Type());
  if (!dtype)
    return emitError(module.getLoc())
               << "greta-select-routes: kv-cache-dtype '" << name << "' is not one of f32, f16",
           failure();
  return dtype;
}

/// Stores every KV cache of `module` as `dtype`. The ops that use a cache name its symbol, so
/// only the symbol's type changes.
static void setKVCacheDtype(ModuleOp module, Type dtype) {
  for (auto cache : module.getOps<KVCacheOp>()) {
    KVCacheType type = cache.getType();
    cache.setTypeAttr(TypeAttr::get(KVCacheType::get(
        module.getContext(), type.getCtx(), type.getKvHeads(), type.getHeadDim(), dtype)));
  }
}

namespace {

struct SelectRoutesPass final : mlir::greta::impl::SelectRoutesBase<SelectRoutesPass> {
  using SelectRoutesBase::SelectRoutesBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    FailureOr<ForcedRoutes> forced = ForcedRoutes::parse(forceRoutes, module.getLoc());
    FailureOr<Fp16Classes> fp16 = parseFp16Classes(fp16Weights, module.getLoc());
    FailureOr<Type> kvDtype = parseKVCacheDtype(kvCacheDtype, module);
    if (failed(forced) || failed(fp16) || failed(kvDtype))
      return signalPassFailure();

    for (auto func : module.getOps<func::FuncOp>()) {
      auto phase = func->getAttrOfType<PhaseAttr>(GretaDialect::kPhaseAttrName);
      WalkResult walk = func.walk([&](Operation *op) -> WalkResult {
        if (!isa<MatmulOp, LmHeadOp>(op) || phase)
          return WalkResult::advance();
        op->emitOpError() << "is in @" << func.getSymName() << ", which has no "
                          << GretaDialect::kPhaseAttrName
                          << ": routes are chosen per phase (run greta-specialize-phases first)";
        return WalkResult::interrupt();
      });
      if (walk.wasInterrupted())
        return signalPassFailure();
      if (!phase)
        continue;
      func.walk([&](MatmulOp op) {
        assignRoute(op, RoutedOp::Matmul, phase.getValue(), *forced);
      });
      func.walk([&](LmHeadOp op) {
        assignRoute(op, RoutedOp::LmHead, phase.getValue(), *forced);
      });
      LLVM_DEBUG(llvm::dbgs() << "routed @" << func.getSymName() << "\n");
    }

    SymbolTableCollection symbols;
    module.walk([&](Operation *op) {
      if (auto head = dyn_cast<LmHeadOp>(op); head && fp16->lmHead)
        setFp16(op, head.getWeightAttr(), symbols);
      if (auto embedding = dyn_cast<EmbeddingOp>(op); embedding && fp16->embeddings)
        setFp16(op, embedding.getWeightAttr(), symbols);
    });
    if (fp16->all)
      for (auto weight : module.getOps<WeightOp>())
        if (weight.getType().getRank() == 2)
          weight.setPolicy(WeightPolicy::Fp16);
    if (*kvDtype)
      setKVCacheDtype(module, *kvDtype);
  }
};

} // namespace
