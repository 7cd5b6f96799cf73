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

#include <string>

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
  return llvm::map_to_vector(getArgs(),
                             [](Attribute kind) { return cast<BufferKindAttr>(kind).getValue(); });
}

TilesAttr KernelOp::getEffectiveTiles() {
  if (std::optional<TilesAttr> tiles = getTiles())
    return *tiles;
  return TilesAttr::get(getContext(), /*tile_m=*/1, /*tile_n=*/1, /*tile_k=*/1, /*split_k=*/1);
}

bool KernelOp::hasF16Weights() {
  // A trailing scratch says so; the signature check then wants one per weight matrix.
  SmallVector<BufferKind> kinds = getArgKinds();
  return getF16WeightCount(getFamily()) > 0 && !kinds.empty() &&
         kinds.back() == BufferKind::Scratch;
}

bool KernelOp::hasF16KVCaches() {
  auto dtype = getParams() ? dyn_cast_or_null<StringAttr>(getParams()->get("kv_dtype"))
                           : StringAttr();
  return dtype && dtype.getValue() == "f16";
}

/// Smallest block (or sub-block) of every quant type: the reduction tile of a quantized product
/// is a multiple of it, so a tile never splits one.
static constexpr int64_t kQuantSubBlockElements = 32;

/// Checks the kernel's buffer kinds and bodies against its family's traits.
static LogicalResult verifySignature(KernelOp kernel, const FamilyTraits &traits,
                                     StringRef familyName) {
  bool hasPrologue = !kernel.getPrologue().empty();
  bool hasEpilogue = !kernel.getEpilogue().empty();
  if (hasPrologue && traits.prologue == BodyUse::Never)
    return kernel.emitOpError() << familyName << " takes no prologue";
  if (hasEpilogue && traits.epilogue == BodyUse::Never)
    return kernel.emitOpError() << familyName << " takes no epilogue";
  if (!hasEpilogue && traits.epilogue == BodyUse::Required)
    return kernel.emitOpError() << familyName << " needs an epilogue";

  bool f16Weights = kernel.hasF16Weights();
  SmallVector<BufferKind> expected =
      getExpectedArgs(kernel.getFamily(), hasPrologue, hasEpilogue, f16Weights);
  SmallVector<BufferKind> actual = kernel.getArgKinds();
  bool matches = actual.size() == expected.size() &&
                 llvm::all_of(llvm::zip_equal(expected, actual), [](auto pair) {
                   return isCompatibleKind(std::get<0>(pair), std::get<1>(pair));
                 });
  if (matches)
    return success();
  InFlightDiagnostic diag = kernel.emitOpError() << familyName;
  if (hasPrologue)
    diag << " with a prologue";
  if (hasEpilogue && traits.epilogueArg)
    diag << (hasPrologue ? " and an epilogue" : " with an epilogue");
  if (f16Weights)
    diag << " reading binary16 weights";
  return diag << " binds " << formatKinds(expected) << ", not " << formatKinds(actual);
}

/// The routes of a class, as a message names them.
static StringRef routeChoices(RouteClass routes) {
  switch (routes) {
  case RouteClass::None:
    return "none";
  case RouteClass::Matrix:
    return "gemv or gemm";
  case RouteClass::Gemv:
    return "gemv";
  case RouteClass::Attention:
    return "split_kv or flash";
  }
  llvm_unreachable("unknown RouteClass");
}

/// Checks route, quant type and tiles against the family's traits.
static LogicalResult verifySpecialisation(KernelOp kernel, const FamilyTraits &traits,
                                          StringRef familyName) {
  std::optional<greta::QuantType> quant = kernel.getQuant();
  if (traits.readsWeightMatrix != quant.has_value())
    return kernel.emitOpError() << familyName
                                << (quant ? " reads no weight matrix; drop quant"
                                          : " reads a weight matrix; give its quant type");
  std::optional<KernelRoute> route = kernel.getRoute();
  if (traits.routes == RouteClass::None && route)
    return kernel.emitOpError() << familyName << " takes no route";
  if (traits.routes != RouteClass::None && !route)
    return kernel.emitOpError() << familyName << " needs a route ("
                                << routeChoices(traits.routes) << ")";
  if (route && !isRouteOf(traits.routes, *route))
    return kernel.emitOpError() << "route " << stringifyKernelRoute(*route) << " is not a route of "
                                << familyName;

  if (kernel.hasF16Weights() && route != KernelRoute::Gemm)
    return kernel.emitOpError() << "reads binary16 scratch weights, which only route gemm does";

  bool tiled = route == KernelRoute::Gemm || route == KernelRoute::Flash;
  if (tiled && !kernel.getTiles())
    return kernel.emitOpError() << "route " << stringifyKernelRoute(*route)
                                << " needs tile sizes (tiles<...>)";
  TilesAttr tiles = kernel.getEffectiveTiles();
  bool splits = route == KernelRoute::Gemv || route == KernelRoute::SplitKV;
  if (tiles.getSplitK() > 1 && !splits)
    return kernel.emitOpError() << "split_k = " << tiles.getSplitK()
                                << " needs route gemv or split_kv";
  if (quant && greta::isBlockQuantized(*quant) && kernel.getTiles() &&
      tiles.getTileK() % kQuantSubBlockElements != 0)
    return kernel.emitOpError() << "tile_k = " << tiles.getTileK() << " splits a "
                                << greta::stringifyQuantType(*quant) << " block (use a multiple of "
                                << kQuantSubBlockElements << ")";
  return success();
}

LogicalResult KernelOp::verify() {
  const FamilyTraits &traits = getFamilyTraits(getFamily());
  StringRef familyName = stringifyKernelFamily(getFamily());
  if (failed(verifySignature(*this, traits, familyName)))
    return failure();
  return verifySpecialisation(*this, traits, familyName);
}

/// Checks a prologue or epilogue body: one block of `arity` f32 arguments, element-wise
/// arith/math ops on scalars, and a gk.yield of one f32.
static LogicalResult verifyElementwiseBody(KernelOp kernel, Region &region, StringRef name,
                                           unsigned arity) {
  if (region.empty())
    return success();
  Block &block = region.front();
  if (block.getNumArguments() != arity)
    return kernel.emitOpError() << name << " body takes " << arity << " arguments, got "
                                << block.getNumArguments();
  for (BlockArgument arg : block.getArguments())
    if (!arg.getType().isF32())
      return kernel.emitOpError() << name << " argument #" << arg.getArgNumber()
                                  << " must be f32, got " << arg.getType();
  for (Operation &op : block.without_terminator()) {
    StringRef dialect = op.getName().getDialectNamespace();
    bool scalarResults =
        llvm::all_of(op.getResultTypes(), [](Type type) { return type.isIntOrIndexOrFloat(); });
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
  if (failed(verifyElementwiseBody(*this, getPrologue(), "prologue", kPrologueArgs)))
    return failure();
  return verifyElementwiseBody(*this, getEpilogue(), "epilogue", kEpilogueArgs);
}

//===----------------------------------------------------------------------===//
// BufferOp
//===----------------------------------------------------------------------===//

/// True when a shape dimension is a form the bundle records: a positive constant, the
/// sequence length, or (for KV caches) the run-time context length.
static bool isBundleRowForm(AffineExpr dim, bool allowContext) {
  if (auto constant = dyn_cast<AffineConstantExpr>(dim))
    return constant.getValue() > 0;
  return isa<AffineDimExpr>(dim) || (allowContext && isa<AffineSymbolExpr>(dim));
}

LogicalResult BufferOp::verify() {
  if (getShape().has_value() == getBytes().has_value())
    return emitOpError() << "is sized by shape(...) or by bytes(...): exactly one";
  bool isKV = getKind() == BufferKind::KV;
  if (getKind() == BufferKind::Scratch) {
    std::optional<AffineMap> shape = getShape();
    auto rows = shape && shape->getNumResults() == 2
                    ? dyn_cast<AffineConstantExpr>(shape->getResult(0))
                    : AffineConstantExpr();
    if (!rows || rows.getValue() != 1 || !isa<AffineConstantExpr>(shape->getResult(1)) ||
        !getElementType() || !getElementType()->isF16())
      return emitOpError() << "a scratch buffer is one row of a constant length of f16, as "
                              "shape(affine_map<(s) -> (1, N)>, f16)";
  }
  if (std::optional<AffineMap> shape = getShape()) {
    if (!getElementType())
      return emitOpError() << "shape needs an element type";
    unsigned maxSymbols = isKV ? 1 : 0;
    if (shape->getNumDims() != 1 || shape->getNumSymbols() > maxSymbols ||
        shape->getNumResults() < 1 || shape->getNumResults() > 2)
      return emitOpError() << "shape must map the sequence length"
                           << (isKV ? " (and the context length, a symbol)" : "")
                           << " to 1 or 2 sizes, got " << AffineMapAttr::get(*shape);
    for (auto [index, dim] : llvm::enumerate(shape->getResults()))
      if (!isBundleRowForm(dim, isKV))
        return emitOpError() << "shape dimension #" << index
                             << " must be a positive constant, the sequence length"
                             << (isKV ? " or the context length" : "");
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
