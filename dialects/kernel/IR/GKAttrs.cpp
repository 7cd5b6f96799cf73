//===- GKAttrs.cpp - gk enumerations and attributes -----------------------===//
//
// What each kernel family allows, and the `#gk.tiles` verifier.
//
//===----------------------------------------------------------------------===//

#include "dialects/kernel/IR/GKAttrs.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::gk;

#include "dialects/kernel/IR/GKEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/kernel/IR/GKAttrs.cpp.inc"

void GKDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialects/kernel/IR/GKAttrs.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// Kernel families
//===----------------------------------------------------------------------===//

bool mlir::gk::isMatrixFamily(KernelFamily family) {
  switch (family) {
  case KernelFamily::Gemv:
  case KernelFamily::Gemm:
  case KernelFamily::LmHeadGemv:
  case KernelFamily::LmHeadGemm:
    return true;
  default:
    return false;
  }
}

bool mlir::gk::readsQuantizedWeight(KernelFamily family) {
  return family == KernelFamily::Embedding || isMatrixFamily(family);
}

bool mlir::gk::needsTiles(KernelFamily family) {
  return family == KernelFamily::Gemm || family == KernelFamily::LmHeadGemm;
}

bool mlir::gk::allowsSplitK(KernelFamily family) {
  return family == KernelFamily::Gemv || family == KernelFamily::LmHeadGemv ||
         family == KernelFamily::AttentionDecode;
}

//===----------------------------------------------------------------------===//
// #gk.tiles
//===----------------------------------------------------------------------===//

LogicalResult TilesAttr::verify(function_ref<InFlightDiagnostic()> emitError, int64_t tileM,
                                int64_t tileN, int64_t tileK, int64_t splitK) {
  if (tileM <= 0 || tileN <= 0 || tileK <= 0 || splitK <= 0)
    return emitError() << "#gk.tiles sizes must be positive, got tile_m = " << tileM
                       << ", tile_n = " << tileN << ", tile_k = " << tileK
                       << ", split_k = " << splitK;
  return success();
}
