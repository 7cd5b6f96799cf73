//===- GretaAttrs.h - greta enumerations and attributes ----------*- C++ -*-===//
//
// QuantType, Phase, Route, AuditPoint, WeightPolicy, MatmulEpilogue and `#greta.model`.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "dialects/graph/IR/GretaDialect.h"
#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"

#include "dialects/graph/IR/GretaEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/graph/IR/GretaAttrs.h.inc"

namespace mlir::greta {

/// Elements per quantization block of `type`: 1 for the float types, 32 for q8_0 and q4_0, 256
/// for the K-quants. A weight's row length is a multiple of it. (The same geometry as
/// runtime/formats/tensor_type.h; the dialect does not link the runtime.)
int64_t getQuantBlockElements(QuantType type);

/// True for the block-quantized types (q8_0, q4_0 and the K-quants).
bool isBlockQuantized(QuantType type);

} // namespace mlir::greta
