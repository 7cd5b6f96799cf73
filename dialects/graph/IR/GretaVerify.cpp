//===- GretaVerify.cpp - checks shared by the greta verifiers -------------===//

#include "dialects/graph/IR/GretaVerify.h"

using namespace mlir;
using namespace mlir::greta;

int64_t checks::getDim(Type type, unsigned index) {
  return cast<RankedTensorType>(type).getDimSize(index);
}

/// True when two dimensions can be equal at run time.
static bool dimsCompatible(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

LogicalResult checks::verifySameRows(Operation *op, Value a, StringRef aName, Value b,
                                     StringRef bName) {
  int64_t rowsA = getDim(a.getType(), 0), rowsB = getDim(b.getType(), 0);
  if (dimsCompatible(rowsA, rowsB))
    return success();
  return op->emitOpError() << aName << " has " << rowsA << " rows but " << bName << " has "
                           << rowsB;
}

LogicalResult checks::verifyRowLength(Operation *op, Value value, StringRef name, int64_t expected,
                                      StringRef why) {
  int64_t length = getDim(value.getType(), 1);
  if (dimsCompatible(length, expected))
    return success();
  return op->emitOpError() << name << " rows have " << length << " elements, expected " << expected
                           << " (" << why << ")";
}

LogicalResult checks::verifyPositive(Operation *op, StringRef name, const APFloat &value) {
  if (value.isFiniteNonZero() && !value.isNegative())
    return success();
  return op->emitOpError() << name << " must be positive, got " << value.convertToDouble();
}

LogicalResult checks::verifyHeads(Operation *op, Value value, StringRef name, int64_t heads,
                                  int64_t headDim) {
  if (heads <= 0 || headDim <= 0)
    return op->emitOpError() << "heads (" << heads << ") and head_dim (" << headDim
                             << ") must be positive";
  int64_t length = getDim(value.getType(), 1);
  if (ShapedType::isDynamic(length))
    return success();
  if (length % heads != 0)
    return op->emitOpError() << name << " rows of " << length << " elements do not divide into "
                             << heads << " heads";
  if (length != heads * headDim)
    return op->emitOpError() << name << " rows of " << length << " elements are not " << heads
                             << " heads of " << headDim;
  return success();
}

FailureOr<WeightOp> checks::lookupWeight(Operation *op, SymbolTableCollection &symbols,
                                         FlatSymbolRefAttr ref, StringRef attrName) {
  Operation *symbol = symbols.lookupNearestSymbolFrom(op, ref.getAttr());
  if (!symbol)
    return op->emitOpError() << "'" << attrName << "' refers to " << ref
                             << ", which is not defined";
  auto weight = dyn_cast<WeightOp>(symbol);
  if (!weight)
    return op->emitOpError() << "'" << attrName << "' refers to " << ref << ", a '"
                             << symbol->getName() << "', not a greta.weight";
  return weight;
}

FailureOr<WeightType> checks::lookupMatrixWeight(Operation *op, SymbolTableCollection &symbols,
                                                 FlatSymbolRefAttr ref, StringRef attrName) {
  FailureOr<WeightOp> weight = lookupWeight(op, symbols, ref, attrName);
  if (failed(weight))
    return failure();
  WeightType type = weight->getType();
  if (type.getRank() != 2)
    return op->emitOpError() << "'" << attrName << "' " << ref << " must be a matrix, got " << type;
  return type;
}

LogicalResult checks::verifyVectorWeight(Operation *op, SymbolTableCollection &symbols,
                                         FlatSymbolRefAttr ref, StringRef attrName, int64_t length,
                                         StringRef why) {
  FailureOr<WeightOp> weight = lookupWeight(op, symbols, ref, attrName);
  if (failed(weight))
    return failure();
  WeightType type = weight->getType();
  if (type.getRank() != 1)
    return op->emitOpError() << "'" << attrName << "' " << ref << " must be a vector, got " << type;
  if (!ShapedType::isDynamic(length) && type.getRowLength() != length)
    return op->emitOpError() << "'" << attrName << "' " << ref << " has " << type.getRowLength()
                             << " elements, expected " << length << " (" << why << ")";
  return success();
}

FailureOr<KVCacheType> checks::lookupCache(Operation *op, SymbolTableCollection &symbols,
                                           FlatSymbolRefAttr ref) {
  Operation *symbol = symbols.lookupNearestSymbolFrom(op, ref.getAttr());
  if (!symbol)
    return op->emitOpError() << "'cache' refers to " << ref << ", which is not defined";
  auto cache = dyn_cast<KVCacheOp>(symbol);
  if (!cache)
    return op->emitOpError() << "'cache' refers to " << ref << ", a '" << symbol->getName()
                             << "', not a greta.kv_cache";
  return cache.getType();
}

LogicalResult checks::verifyAuditLayer(Operation *op, AuditPoint point, IntegerAttr layer) {
  bool isLayerOutput = point == AuditPoint::LayerOutput;
  if (isLayerOutput != static_cast<bool>(layer))
    return op->emitOpError() << "takes a layer index exactly when the point is layer_output";
  if (layer && layer.getInt() < 0)
    return op->emitOpError() << "layer must be non-negative, got " << layer.getInt();
  return success();
}
