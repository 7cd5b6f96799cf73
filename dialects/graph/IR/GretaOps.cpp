//===- GretaOps.cpp - greta operations ------------------------------------===//
//
// Op definitions, and the verifiers of the symbols, the norms, the matrix products and the
// audit. Attention-side ops are in GretaAttentionOps.cpp.
//
//===----------------------------------------------------------------------===//

#include "dialects/graph/IR/GretaOps.h"

#include "dialects/graph/IR/GretaVerify.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"

using namespace mlir;
using namespace mlir::greta;
using namespace mlir::greta::checks;

#define GET_OP_CLASSES
#include "dialects/graph/IR/GretaOps.cpp.inc"

//===----------------------------------------------------------------------===//
// WeightOp
//===----------------------------------------------------------------------===//

LogicalResult WeightOp::verify() {
  if (getGgufName().empty())
    return emitOpError() << "needs a non-empty gguf_name";
  return success();
}

//===----------------------------------------------------------------------===//
// EmbeddingOp
//===----------------------------------------------------------------------===//

LogicalResult EmbeddingOp::verify() {
  return verifySameRows(*this, getTokens(), "tokens", getResult(), "the result");
}

LogicalResult EmbeddingOp::verifySymbolUses(SymbolTableCollection &symbols) {
  FailureOr<WeightType> table = lookupMatrixWeight(*this, symbols, getWeightAttr(), "weight");
  if (failed(table))
    return failure();
  return verifyRowLength(*this, getResult(), "result", table->getRowLength(),
                         "the embedding table's row length");
}

//===----------------------------------------------------------------------===//
// RmsNormOp, AddRmsNormOp
//===----------------------------------------------------------------------===//

LogicalResult RmsNormOp::verify() { return verifyPositive(*this, "eps", getEps()); }

LogicalResult RmsNormOp::verifySymbolUses(SymbolTableCollection &symbols) {
  return verifyVectorWeight(*this, symbols, getWeightAttr(), "weight",
                            getDim(getInput().getType(), 1), "the input's row length");
}

LogicalResult AddRmsNormOp::verify() { return verifyPositive(*this, "eps", getEps()); }

LogicalResult AddRmsNormOp::verifySymbolUses(SymbolTableCollection &symbols) {
  return verifyVectorWeight(*this, symbols, getWeightAttr(), "weight",
                            getDim(getLhs().getType(), 1), "the input's row length");
}

//===----------------------------------------------------------------------===//
// MatmulOp
//===----------------------------------------------------------------------===//

LogicalResult MatmulOp::verify() {
  if (getNormWeight().has_value() != getNormEps().has_value())
    return emitOpError() << "rms_norm prologue needs both norm_weight and norm_eps";
  if (getNormEps() && failed(verifyPositive(*this, "rms_norm eps", *getNormEps())))
    return failure();
  if (getResidual() && getUpWeight())
    return emitOpError() << "has two epilogues (residual_add and silu_mul); at most one";
  if (getResidual() && getResidual().getType() != getResult().getType())
    return emitOpError() << "residual_add operand has type " << getResidual().getType()
                         << " but the result has type " << getResult().getType();
  return verifySameRows(*this, getInput(), "input", getResult(), "the result");
}

LogicalResult MatmulOp::verifySymbolUses(SymbolTableCollection &symbols) {
  FailureOr<WeightType> weight = lookupMatrixWeight(*this, symbols, getWeightAttr(), "weight");
  if (failed(weight))
    return failure();
  if (failed(
          verifyRowLength(*this, getInput(), "input", weight->getRowLength(), "the weight's K")) ||
      failed(verifyRowLength(*this, getResult(), "result", weight->getNumRows(), "the weight's N")))
    return failure();
  if (getNormWeightAttr() &&
      failed(verifyVectorWeight(*this, symbols, getNormWeightAttr(), "norm_weight",
                                weight->getRowLength(), "the weight's K")))
    return failure();
  if (FlatSymbolRefAttr upRef = getUpWeightAttr()) {
    FailureOr<WeightType> up = lookupMatrixWeight(*this, symbols, upRef, "up_weight");
    if (failed(up))
      return failure();
    if (*up != *weight)
      return emitOpError() << "silu_mul partner " << upRef << " has type " << *up
                           << ", expected the gate's " << *weight;
  }
  return success();
}

//===----------------------------------------------------------------------===//
// LmHeadOp
//===----------------------------------------------------------------------===//

LogicalResult LmHeadOp::verify() {
  if (!getLastOnly())
    return verifySameRows(*this, getInput(), "input", getLogits(), "the logits");
  int64_t rows = getDim(getLogits().getType(), 0);
  if (rows != 1)
    return emitOpError() << "with last_only must produce 1 row of logits, got "
                         << (ShapedType::isDynamic(rows) ? "?" : std::to_string(rows));
  return success();
}

LogicalResult LmHeadOp::verifySymbolUses(SymbolTableCollection &symbols) {
  FailureOr<WeightType> weight = lookupMatrixWeight(*this, symbols, getWeightAttr(), "weight");
  if (failed(weight))
    return failure();
  if (failed(verifyRowLength(*this, getInput(), "input", weight->getRowLength(), "the weight's K")))
    return failure();
  return verifyRowLength(*this, getLogits(), "logits", weight->getNumRows(),
                         "the weight's vocabulary size");
}

//===----------------------------------------------------------------------===//
// AuditOp
//===----------------------------------------------------------------------===//

LogicalResult AuditOp::verify() { return verifyAuditLayer(*this, getPoint(), getLayerAttr()); }
