//===- GKAttrs.h - gk enumerations and attributes ----------------*- C++ -*-===//
//
// KernelFamily, BufferKind and `#gk.tiles`, with what each family allows.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "dialects/kernel/IR/GKDialect.h"
#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"

#include "dialects/kernel/IR/GKEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/kernel/IR/GKAttrs.h.inc"

namespace mlir::gk {

/// True for the families that multiply by a weight matrix; only these fuse a prologue or an
/// epilogue.
bool isMatrixFamily(KernelFamily family);

/// True for the families that read a quantized weight and so must name its quant type.
bool readsQuantizedWeight(KernelFamily family);

/// True for the matrix-unit families, whose tile sizes must be given.
bool needsTiles(KernelFamily family);

/// True for the families that split a reduction (or a KV range) across blocks.
bool allowsSplitK(KernelFamily family);

} // namespace mlir::gk
