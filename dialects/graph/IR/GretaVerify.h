//===- GretaVerify.h - checks shared by the greta verifiers ------*- C++ -*-===//
//
// Shape and symbol checks that several ops make (in `greta`, and in `gk` where it refers to
// greta symbols), so that each message is written once.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "dialects/graph/IR/GretaOps.h"

namespace mlir::greta::checks {

/// Dimension `index` of a ranked tensor type.
int64_t getDim(Type type, unsigned index);

/// Fails unless the row counts (dimension 0) of `a` and `b` can be equal at run time.
LogicalResult verifySameRows(Operation *op, Value a, StringRef aName, Value b, StringRef bName);

/// Fails when `value`'s row length (dimension 1) is static and not `expected`; `why` says where
/// `expected` comes from ("the weight's K").
LogicalResult verifyRowLength(Operation *op, Value value, StringRef name, int64_t expected,
                              StringRef why);

/// Fails unless `value` > 0 (RMSNorm epsilon, RoPE theta).
LogicalResult verifyPositive(Operation *op, StringRef name, const APFloat &value);

/// Fails unless a row of `rowLength` elements (if static) splits into `heads` heads of
/// `headDim` elements, with both counts positive.
LogicalResult verifyHeads(Operation *op, Value value, StringRef name, int64_t heads,
                          int64_t headDim);

/// The `greta.weight` that `ref` (the op's attribute `attrName`) names, or an error.
FailureOr<WeightOp> lookupWeight(Operation *op, SymbolTableCollection &symbols,
                                 FlatSymbolRefAttr ref, StringRef attrName);

/// As lookupWeight, for a `K x N` matrix weight.
FailureOr<WeightType> lookupMatrixWeight(Operation *op, SymbolTableCollection &symbols,
                                         FlatSymbolRefAttr ref, StringRef attrName);

/// Fails unless `ref` names a vector weight of `length` elements; `why` as for verifyRowLength.
LogicalResult verifyVectorWeight(Operation *op, SymbolTableCollection &symbols,
                                 FlatSymbolRefAttr ref, StringRef attrName, int64_t length,
                                 StringRef why);

/// Fails unless `layer` is present exactly for a `layer_output` point, and non-negative.
LogicalResult verifyAuditLayer(Operation *op, AuditPoint point, IntegerAttr layer);

/// The type of the `greta.kv_cache` that `ref` names, or an error.
FailureOr<KVCacheType> lookupCache(Operation *op, SymbolTableCollection &symbols,
                                   FlatSymbolRefAttr ref);

} // namespace mlir::greta::checks
