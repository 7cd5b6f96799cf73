//===- SpecializePhases.cpp - @forward → @prefill and @decode -------------===//
//
// Prefill and decode run the same layers with different shapes, and they pick different
// kernels: prefill's many rows go to matrix units, decode's single row is bandwidth-bound. Making
// the two programs separate functions here lets every later pass treat them differently and lets
// decode's shapes be static (which the code generator bakes into its kernels).
//
//===----------------------------------------------------------------------===//

#include "compiler/Transforms/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "greta-specialize-phases"

namespace mlir::greta {
#define GEN_PASS_DEF_SPECIALIZEPHASES
#include "compiler/Transforms/Passes.h.inc"
} // namespace mlir::greta

using namespace mlir;
using namespace mlir::greta;

/// Name of the importer's phase-independent function.
static constexpr StringLiteral kForwardName = "forward";

/// `type` with a dynamic leading (sequence) dimension replaced by `rows`; other types unchanged.
static Type withRows(Type type, int64_t rows) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor || tensor.getRank() == 0 || !tensor.isDynamicDim(0))
    return type;
  SmallVector<int64_t> shape(tensor.getShape());
  shape[0] = rows;
  return tensor.clone(shape);
}

/// Fails on ops the specialisation does not know how to re-type: anything outside the greta
/// dialect and `func.return`, or a function without exactly one `greta.lm_head`.
static FailureOr<LmHeadOp> checkForward(func::FuncOp forward) {
  LmHeadOp lmHead;
  WalkResult walk = forward.walk([&](Operation *op) -> WalkResult {
    if (auto head = dyn_cast<LmHeadOp>(op)) {
      if (lmHead) {
        op->emitOpError() << "is a second LM head in @" << kForwardName
                          << "; greta-specialize-phases expects exactly one";
        return WalkResult::interrupt();
      }
      lmHead = head;
    }
    if (op == forward || isa<GretaDialect>(op->getDialect()) || isa<func::ReturnOp>(op))
      return WalkResult::advance();
    op->emitOpError() << "cannot be specialised into phases: @" << kForwardName
                      << " may hold greta ops only";
    return WalkResult::interrupt();
  });
  if (walk.wasInterrupted())
    return failure();
  if (!lmHead)
    return forward.emitOpError() << "has no greta.lm_head: nothing for the phases to return";
  if (lmHead.getLastOnly())
    return lmHead.emitOpError() << "is already last_only; @" << kForwardName
                                << " must project every row";
  return lmHead;
}

/// Re-types every block argument and op result of `func` by `retype`, then the signature from
/// the entry block and the returned values.
static void retypeFunction(func::FuncOp func, function_ref<Type(Type)> retype) {
  func.walk([&](Block *block) {
    for (BlockArgument arg : block->getArguments())
      arg.setType(retype(arg.getType()));
  });
  func.walk([&](Operation *op) {
    for (OpResult result : op->getResults())
      result.setType(retype(result.getType()));
  });
  Operation *terminator = func.getBody().back().getTerminator();
  func.setFunctionType(FunctionType::get(func.getContext(),
                                         func.getBody().getArgumentTypes(),
                                         terminator->getOperandTypes()));
}

/// Clones `forward` as phase `phase` and specialises the clone's shapes.
static func::FuncOp clonePhase(func::FuncOp forward, Phase phase, OpBuilder &builder) {
  auto clone = cast<func::FuncOp>(builder.clone(*forward));
  clone.setSymName(stringifyPhase(phase));
  clone->setAttr(GretaDialect::kPhaseAttrName, PhaseAttr::get(builder.getContext(), phase));
  if (phase == Phase::Decode) {
    // One token: every sequence dimension becomes 1, so every shape is static.
    retypeFunction(clone, [](Type type) { return withRows(type, 1); });
    return clone;
  }
  // Prefill keeps the dynamic sequence; only the last row's logits are produced, and audits
  // (pass-throughs) of them follow the new type.
  clone.walk([&](Operation *op) {
    if (auto head = dyn_cast<LmHeadOp>(op)) {
      head.setLastOnly(true);
      Value logits = head.getLogits();
      logits.setType(withRows(logits.getType(), 1));
    } else if (auto audit = dyn_cast<AuditOp>(op)) {
      Value result = audit.getResult();
      result.setType(audit.getInput().getType());
    }
  });
  retypeFunction(clone, [](Type type) { return type; });
  return clone;
}

namespace {

struct SpecializePhasesPass final
    : mlir::greta::impl::SpecializePhasesBase<SpecializePhasesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    auto forward = symbols.lookup<func::FuncOp>(kForwardName);
    if (!forward) {
      module.emitError() << "greta-specialize-phases expects a func.func @" << kForwardName
                         << " (the importer's output)";
      return signalPassFailure();
    }
    if (forward->hasAttr(GretaDialect::kPhaseAttrName)) {
      forward.emitOpError() << "already carries " << GretaDialect::kPhaseAttrName;
      return signalPassFailure();
    }
    for (Phase phase : {Phase::Prefill, Phase::Decode}) {
      if (Operation *existing = symbols.lookup(stringifyPhase(phase))) {
        existing->emitOpError() << "is in the way: greta-specialize-phases creates @"
                                << stringifyPhase(phase);
        return signalPassFailure();
      }
    }
    if (failed(checkForward(forward)))
      return signalPassFailure();

    OpBuilder builder(forward);
    for (Phase phase : {Phase::Prefill, Phase::Decode}) {
      [[maybe_unused]] func::FuncOp clone = clonePhase(forward, phase, builder);
      LLVM_DEBUG(llvm::dbgs() << "specialised @" << clone.getSymName() << "\n");
    }
    forward.erase();
  }
};

} // namespace
