//===- GretaTypes.cpp - greta types ---------------------------------------===//
//
// The `!greta.weight` parser, printer and verifier, and the `!greta.kv` verifier.
//
//===----------------------------------------------------------------------===//

#include "dialects/graph/IR/GretaTypes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::greta;

#define GET_TYPEDEF_CLASSES
#include "dialects/graph/IR/GretaTypes.cpp.inc"

void GretaDialect::registerTypes() {
  addTypes<
#define GET_TYPEDEF_LIST
#include "dialects/graph/IR/GretaTypes.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// !greta.weight
//===----------------------------------------------------------------------===//

/// The quant type names, for the "unknown quant type" error.
static std::string listQuantTypes() {
  std::string names;
  for (uint32_t i = 0; i <= getMaxEnumValForQuantType(); ++i) {
    if (!names.empty())
      names += ", ";
    names += stringifyQuantType(static_cast<QuantType>(i)).str();
  }
  return names;
}

Type WeightType::parse(AsmParser &parser) {
  SMLoc loc = parser.getCurrentLocation();
  SmallVector<int64_t> shape;
  if (parser.parseLess() ||
      parser.parseDimensionList(shape, /*allowDynamic=*/false, /*withTrailingX=*/false) ||
      parser.parseComma())
    return {};
  SMLoc quantLoc = parser.getCurrentLocation();
  StringRef name;
  if (parser.parseKeyword(&name))
    return {};
  std::optional<QuantType> quant = symbolizeQuantType(name);
  if (!quant) {
    parser.emitError(quantLoc) << "unknown quant type '" << name << "' (expected one of "
                               << listQuantTypes() << ")";
    return {};
  }
  if (parser.parseGreater())
    return {};
  return getChecked([&] { return parser.emitError(loc); }, parser.getContext(), shape, *quant);
}

void WeightType::print(AsmPrinter &printer) const {
  printer << "<";
  printer.printDimensionList(getShape());
  printer << ", " << stringifyQuantType(getQuant()) << ">";
}

LogicalResult WeightType::verify(function_ref<InFlightDiagnostic()> emitError,
                                 ArrayRef<int64_t> shape, QuantType quant) {
  if (shape.empty() || shape.size() > 2)
    return emitError() << "!greta.weight must have 1 or 2 dimensions, got " << shape.size();
  if (llvm::any_of(shape, [](int64_t dim) { return dim <= 0; }))
    return emitError() << "!greta.weight dimensions must be positive";
  int64_t block = getQuantBlockElements(quant);
  if (shape.front() % block != 0)
    return emitError() << "!greta.weight row length " << shape.front()
                       << " is not a multiple of the " << stringifyQuantType(quant)
                       << " block size (" << block << ")";
  return success();
}

//===----------------------------------------------------------------------===//
// !greta.kv
//===----------------------------------------------------------------------===//

LogicalResult KVCacheType::verify(function_ref<InFlightDiagnostic()> emitError, int64_t ctx,
                                  int64_t kvHeads, int64_t headDim, Type dtype) {
  if (ctx <= 0 || kvHeads <= 0 || headDim <= 0)
    return emitError() << "!greta.kv ctx, kv_heads and head_dim must be positive";
  if (!dtype.isF32() && !dtype.isF16() && !dtype.isBF16())
    return emitError() << "!greta.kv dtype must be f32, f16 or bf16, got " << dtype;
  return success();
}
