//===- GretaDialect.cpp - the greta graph dialect -------------------------===//
//
// Registration, and verification of the dialect's discardable attributes (`greta.phase` on
// functions, `greta.model` on the module).
//
//===----------------------------------------------------------------------===//

#include "dialects/graph/IR/GretaOps.h"

#include "mlir/Interfaces/FunctionInterfaces.h"

using namespace mlir;
using namespace mlir::greta;

#include "dialects/graph/IR/GretaDialect.cpp.inc"

void GretaDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialects/graph/IR/GretaOps.cpp.inc"
      >();
  registerAttributes();
  registerTypes();
}

LogicalResult GretaDialect::verifyOperationAttribute(Operation *op, NamedAttribute attr) {
  StringRef name = attr.getName().getValue();
  if (name == kPhaseAttrName) {
    if (!isa<PhaseAttr>(attr.getValue()))
      return op->emitError() << "'" << name << "' must be a #greta<phase ...> attribute, got "
                             << attr.getValue();
    if (!isa<FunctionOpInterface>(op))
      return op->emitError() << "'" << name << "' belongs on a function, not on '" << op->getName()
                             << "'";
    return success();
  }
  if (name == kModelAttrName) {
    if (!isa<ModelAttr>(attr.getValue()))
      return op->emitError() << "'" << name << "' must be a #greta.model attribute, got "
                             << attr.getValue();
    if (!isa<ModuleOp>(op))
      return op->emitError() << "'" << name << "' belongs on the module, not on '" << op->getName()
                             << "'";
    return success();
  }
  return op->emitError() << "unknown greta attribute '" << name << "' (expected '" << kPhaseAttrName
                         << "' or '" << kModelAttrName << "')";
}
