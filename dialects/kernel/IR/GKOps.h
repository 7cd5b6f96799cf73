//===- GKOps.h - gk operations -----------------------------------*- C++ -*-===//
//
// The `gk` operations, with the dialect and attributes they use.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "dialects/graph/IR/GretaOps.h"
#include "dialects/kernel/IR/GKAttrs.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/RegionKindInterface.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#define GET_OP_CLASSES
#include "dialects/kernel/IR/GKOps.h.inc"

namespace mlir::gk {

/// One launch-grid dimension as the bundle records it: ceil((mul * seq + add) / div).
struct GridDim {
  int64_t mul = 0;
  int64_t add = 0;
  int64_t div = 1;
};

/// Decomposes one result of a grid map (of the sequence length `d0`), or returns nullopt when
/// it is not of the form `(mul * d0 + add) ceildiv div` with non-negative mul and add and a
/// positive div.
std::optional<GridDim> decomposeGridDim(AffineExpr expr);

} // namespace mlir::gk
