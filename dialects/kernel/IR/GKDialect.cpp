//===- GKDialect.cpp - the gk kernel dialect ------------------------------===//

#include "dialects/kernel/IR/GKOps.h"

using namespace mlir;
using namespace mlir::gk;

#include "dialects/kernel/IR/GKDialect.cpp.inc"

void GKDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialects/kernel/IR/GKOps.cpp.inc"
      >();
  registerAttributes();
}
