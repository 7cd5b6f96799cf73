//===- InsertAudit.cpp - greta.audit at the points that matter ------------===//
//
// When a route is wrong the model still runs, and only the first decoded token shows it. The
// audit points are where the runtime compares the device with its CPU probe: the hidden state
// the LM head reads (final RMSNorm) and the logits; optionally every layer's output, to find the
// first layer where prefill and decode part ways.
//
//===----------------------------------------------------------------------===//

#include "compiler/Transforms/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "greta-insert-audit"

namespace mlir::greta {
#define GEN_PASS_DEF_INSERTAUDIT
#include "compiler/Transforms/Passes.h.inc"
} // namespace mlir::greta

using namespace mlir;
using namespace mlir::greta;

namespace {
/// The `audit` option.
enum class AuditLevel { None, Default, AllLayers };
} // namespace

/// True when `value` already has a `greta.audit` user at `point`.
static bool isAuditedAt(Value value, AuditPoint point) {
  return llvm::any_of(value.getUsers(), [&](Operation *user) {
    auto audit = dyn_cast<AuditOp>(user);
    return audit && audit.getPoint() == point;
  });
}

/// Audits `value` at `point` right after its definition; every other user then reads the
/// audit's result. Does nothing when the value is already audited there.
static void auditValue(Value value, AuditPoint point, std::optional<int64_t> layer,
                       OpBuilder &builder) {
  if (isAuditedAt(value, point))
    return;
  builder.setInsertionPointAfterValue(value);
  IntegerAttr layerAttr = layer ? builder.getI64IntegerAttr(*layer) : IntegerAttr();
  auto audit = builder.create<AuditOp>(value.getLoc(), value,
                                       AuditPointAttr::get(builder.getContext(), point),
                                       layerAttr);
  value.replaceAllUsesExcept(audit.getResult(), audit);
}

/// The value an LM head reads, looking through an existing final_rmsnorm audit.
static Value lmHeadHidden(LmHeadOp head) {
  Value input = head.getInput();
  if (auto audit = input.getDefiningOp<AuditOp>())
    if (audit.getPoint() == AuditPoint::FinalRmsNorm)
      return audit.getInput();
  return input;
}

/// The FFN down projection (plain or fused) that made `value`: a matmul whose input is the
/// SwiGLU product. Null for any other value.
static MatmulOp getDownProjection(Value value) {
  auto matmul = value.getDefiningOp<MatmulOp>();
  if (!matmul || matmul.getUpWeight())
    return {};
  Operation *input = matmul.getInput().getDefiningOp();
  if (isa_and_nonnull<SiluMulOp>(input))
    return matmul;
  if (auto gateUp = dyn_cast_or_null<MatmulOp>(input); gateUp && gateUp.getUpWeight())
    return matmul;
  return {};
}

/// The layer outputs of `func` in program order, each with the down projection that ends the
/// layer: `greta.add`s of the residual and a down projection, or down projections that carry
/// the residual add as their epilogue.
static SmallVector<std::pair<Value, MatmulOp>> findLayerOutputs(func::FuncOp func) {
  SmallVector<std::pair<Value, MatmulOp>> outputs;
  func.walk([&](Operation *op) {
    if (auto add = dyn_cast<AddOp>(op)) {
      for (Value operand : {add.getRhs(), add.getLhs()})
        if (MatmulOp down = getDownProjection(operand)) {
          outputs.push_back({add.getResult(), down});
          return;
        }
    }
    if (auto matmul = dyn_cast<MatmulOp>(op); matmul && matmul.getResidual())
      if (MatmulOp down = getDownProjection(matmul.getResult()))
        outputs.push_back({matmul.getResult(), down});
  });
  return outputs;
}

/// The layer a down projection belongs to: N of its weight's GGUF name `blk.N.…`, else
/// `ordinal` (its position among the layer outputs).
static int64_t layerIndex(MatmulOp down, SymbolTableCollection &symbols, int64_t ordinal) {
  auto weight = symbols.lookupNearestSymbolFrom<WeightOp>(down, down.getWeightAttr());
  if (!weight)
    return ordinal;
  StringRef name = weight.getGgufName();
  int64_t index;
  if (name.consume_front("blk.") && !name.split('.').first.getAsInteger(10, index))
    return index;
  return ordinal;
}

/// Removes every audit of `func`; their users read the audited value directly.
static void removeAudits(func::FuncOp func) {
  func.walk([](AuditOp audit) {
    audit.getResult().replaceAllUsesWith(audit.getInput());
    audit.erase();
  });
}

/// Audits the final RMSNorm and the logits of every LM head of `func`.
static LogicalResult auditLmHeads(func::FuncOp func, OpBuilder &builder) {
  SmallVector<LmHeadOp> heads;
  func.walk([&](LmHeadOp head) { heads.push_back(head); });
  for (LmHeadOp head : heads) {
    Value hidden = lmHeadHidden(head);
    Operation *norm = hidden.getDefiningOp();
    bool isNormed = isa_and_nonnull<RmsNormOp>(norm) ||
                    (isa_and_nonnull<AddRmsNormOp>(norm) &&
                     cast<AddRmsNormOp>(norm).getNormed() == hidden);
    if (!isNormed)
      return head.emitOpError()
             << "reads a value that no RMSNorm produced; the final_rmsnorm audit point is "
                "the LM head's RMS-normalised input";
    auditValue(hidden, AuditPoint::FinalRmsNorm, std::nullopt, builder);
    auditValue(head.getLogits(), AuditPoint::LmHead, std::nullopt, builder);
  }
  return success();
}

namespace {

struct InsertAuditPass final : mlir::greta::impl::InsertAuditBase<InsertAuditPass> {
  using InsertAuditBase::InsertAuditBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::optional<AuditLevel> level = llvm::StringSwitch<std::optional<AuditLevel>>(audit)
                                          .Case("none", AuditLevel::None)
                                          .Case("default", AuditLevel::Default)
                                          .Case("all-layers", AuditLevel::AllLayers)
                                          .Default(std::nullopt);
    if (!level) {
      module.emitError() << "greta-insert-audit: audit='" << audit
                         << "' is not one of none, default, all-layers";
      return signalPassFailure();
    }

    OpBuilder builder(&getContext());
    SymbolTableCollection symbols;
    for (auto func : module.getOps<func::FuncOp>()) {
      if (*level == AuditLevel::None) {
        removeAudits(func);
        continue;
      }
      if (failed(auditLmHeads(func, builder)))
        return signalPassFailure();
      if (*level != AuditLevel::AllLayers)
        continue;
      for (auto [ordinal, output] : llvm::enumerate(findLayerOutputs(func))) {
        int64_t layer = layerIndex(output.second, symbols, ordinal);
        LLVM_DEBUG(llvm::dbgs() << "@" << func.getSymName() << ": layer " << layer
                                << " output audited\n");
        auditValue(output.first, AuditPoint::LayerOutput, layer, builder);
      }
    }
  }
};

} // namespace
