//===- GKOps.cpp - gk operations ------------------------------------------===//
//
// Op definitions, the custom assembly directives, and the verifiers of gk.kernel and
// gk.buffer. Plans and launches are in GKPlanOps.cpp.
//
//===----------------------------------------------------------------------===//

#include "dialects/kernel/IR/GKOps.h"

#include "dialects/graph/IR/GretaVerify.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"

using namespace mlir;
using namespace mlir::gk;

//===----------------------------------------------------------------------===//
// Custom directives
//===----------------------------------------------------------------------===//

/// `family(kind, kind, ...)`, as in `gemv(activation, weight, activation)`.
static ParseResult parseKernelSignature(OpAsmParser &parser, KernelFamilyAttr &family,
                                        ArrayAttr &args) {
  SMLoc loc = parser.getCurrentLocation();
  StringRef name;
  if (parser.parseKeyword(&name))
    return failure();
  std::optional<KernelFamily> parsedFamily = symbolizeKernelFamily(name);
  if (!parsedFamily)
    return parser.emitError(loc) << "unknown kernel family '" << name << "'";
  family = KernelFamilyAttr::get(parser.getContext(), *parsedFamily);

  SmallVector<Attribute> kinds;
  auto parseKind = [&]() -> ParseResult {
    SMLoc kindLoc = parser.getCurrentLocation();
    StringRef kindName;
    if (parser.parseKeyword(&kindName))
      return failure();
    std::optional<BufferKind> kind = symbolizeBufferKind(kindName);
    if (!kind)
      return parser.emitError(kindLoc) << "unknown buffer kind '" << kindName << "'";
    kinds.push_back(BufferKindAttr::get(parser.getContext(), *kind));
    return success();
  };
  if (parser.parseCommaSeparatedList(OpAsmParser::Delimiter::Paren, parseKind))
    return failure();
  args = parser.getBuilder().getArrayAttr(kinds);
  return success();
}

static void printKernelSignature(OpAsmPrinter &printer, Operation *, KernelFamilyAttr family,
                                 ArrayAttr args) {
  printer << stringifyKernelFamily(family.getValue()) << "(";
  llvm::interleaveComma(args, printer, [&](Attribute kind) {
    printer << stringifyBufferKind(cast<BufferKindAttr>(kind).getValue());
  });
  printer << ")";
}

/// `@kernel(@buffer, ...)`.
static ParseResult parseKernelCall(OpAsmParser &parser, FlatSymbolRefAttr &kernel,
                                   ArrayAttr &buffers) {
  StringAttr kernelName;
  if (parser.parseSymbolName(kernelName))
    return failure();
  kernel = FlatSymbolRefAttr::get(kernelName);
  SmallVector<Attribute> refs;
  auto parseBuffer = [&]() -> ParseResult {
    StringAttr name;
    if (parser.parseSymbolName(name))
      return failure();
    refs.push_back(FlatSymbolRefAttr::get(name));
    return success();
  };
  if (parser.parseCommaSeparatedList(OpAsmParser::Delimiter::Paren, parseBuffer))
    return failure();
  buffers = parser.getBuilder().getArrayAttr(refs);
  return success();
}

static void printKernelCall(OpAsmPrinter &printer, Operation *, FlatSymbolRefAttr kernel,
                            ArrayAttr buffers) {
  printer.printAttribute(kernel);
  printer << "(";
  llvm::interleaveComma(buffers, printer,
                        [&](Attribute buffer) { printer.printAttribute(buffer); });
  printer << ")";
}

#define GET_OP_CLASSES
#include "dialects/kernel/IR/GKOps.cpp.inc"

//===----------------------------------------------------------------------===//
// KernelOp
//===----------------------------------------------------------------------===//

SmallVector<BufferKind> KernelOp::getArgKinds() {
  return llvm::map_to_vector(getArgs(), [](Attribute kind) {
    return cast<BufferKindAttr>(kind).getValue();
  });
}

TilesAttr KernelOp::getEffectiveTiles() {
  if (std::optional<TilesAttr> tiles = getTiles())
    return *tiles;
  return TilesAttr::get(getContext(), /*tile_m=*/1, /*tile_n=*/1, /*tile_k=*/1, /*split_k=*/1);
}

/// Smallest block (or sub-block) of every quant type: the reduction tile of a quantized product
/// is a multiple of it, so a tile never splits one.
static constexpr int64_t kQuantSubBlockElements = 32;

LogicalResult KernelOp::verify() {
  KernelFamily family = getFamily();
  StringRef familyName = stringifyKernelFamily(family);
  if (getArgs().empty())
    return emitOpError() << "binds no buffers";
  if (readsQuantizedWeight(family) != getQuant().has_value())
    return emitOpError() << familyName
                         << (getQuant() ? " reads no quantized weight; drop quant"
                                        : " reads a quantized weight; give its quant type");
  if (needsTiles(family) && !getTiles())
    return emitOpError() << familyName << " needs tile sizes (tiles<...>)";
  TilesAttr tiles = getEffectiveTiles();
  if (tiles.getSplitK() > 1 && !allowsSplitK(family))
    return emitOpError() << "split_k = " << tiles.getSplitK() << " is not supported by "
                         << familyName << " (only gemv, lm_head_gemv, attention_decode)";
  if (getQuant() && greta::isBlockQuantized(*getQuant()) && getTiles() &&
      tiles.getTileK() % kQuantSubBlockElements != 0)
    return emitOpError() << "tile_k = " << tiles.getTileK() << " splits a "
                         << greta::stringifyQuantType(*getQuant()) << " block (use a multiple of "
                         << kQuantSubBlockElements << ")";
  if (!isMatrixFamily(family) && (!getPrologue().empty() || !getEpilogue().empty()))
    return emitOpError() << familyName
                         << " cannot fuse a prologue or epilogue (only gemv, gemm, lm_head_gemv,"
                            " lm_head_gemm)";
  return success();
}

/// Checks a prologue or epilogue body: one block of f32 arguments, element-wise arith/math ops
/// on scalars, and a gk.yield of one f32.
static LogicalResult verifyElementwiseBody(KernelOp kernel, Region &region, StringRef name) {
  if (region.empty())
    return success();
  Block &block = region.front();
  if (block.getNumArguments() == 0)
    return kernel.emitOpError() << name << " body takes no arguments";
  for (BlockArgument arg : block.getArguments())
    if (!arg.getType().isF32())
      return kernel.emitOpError() << name << " argument #" << arg.getArgNumber()
                                  << " must be f32, got " << arg.getType();
  for (Operation &op : block.without_terminator()) {
    StringRef dialect = op.getName().getDialectNamespace();
    bool scalarResults = llvm::all_of(op.getResultTypes(),
                                      [](Type type) { return type.isIntOrIndexOrFloat(); });
    if ((dialect != "arith" && dialect != "math") || op.getNumRegions() != 0 ||
        !isMemoryEffectFree(&op) || !scalarResults)
      return op.emitOpError() << "cannot appear in a gk.kernel " << name
                              << " (only element-wise arith and math ops on scalars)";
  }
  auto yield = dyn_cast<YieldOp>(block.getTerminator());
  if (!yield || yield.getValues().size() != 1 || !yield.getValues().front().getType().isF32())
    return kernel.emitOpError() << name << " body must end in gk.yield of one f32";
  return success();
}

LogicalResult KernelOp::verifyRegions() {
  if (failed(verifyElementwiseBody(*this, getPrologue(), "prologue")))
    return failure();
  return verifyElementwiseBody(*this, getEpilogue(), "epilogue");
}

//===----------------------------------------------------------------------===//
// BufferOp
//===----------------------------------------------------------------------===//

LogicalResult BufferOp::verify() {
  if (getShape().has_value() == getBytes().has_value())
    return emitOpError() << "is sized by shape(...) or by bytes(...): exactly one";
  if (std::optional<AffineMap> shape = getShape()) {
    if (!getElementType())
      return emitOpError() << "shape needs an element type";
    if (shape->getNumDims() != 1 || shape->getNumSymbols() != 0 || shape->getNumResults() == 0)
      return emitOpError() << "shape must map the sequence length (one dimension, no symbols) "
                              "to at least one size, got "
                           << AffineMapAttr::get(*shape);
  }
  if (getBytesAttr() && getBytesAttr().getInt() <= 0)
    return emitOpError() << "bytes must be positive, got " << getBytesAttr().getInt();
  bool isWeight = getKind() == BufferKind::Weight;
  if (isWeight != getSource().has_value())
    return emitOpError() << (isWeight ? "weight buffer needs source(@weight)"
                                      : "only a weight buffer has a source");
  return success();
}

LogicalResult BufferOp::verifySymbolUses(SymbolTableCollection &symbols) {
  if (!getSourceAttr())
    return success();
  return greta::checks::lookupWeight(*this, symbols, getSourceAttr(), "source");
}
