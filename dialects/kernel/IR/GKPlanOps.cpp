//===- GKPlanOps.cpp - gk plans and launches ------------------------------===//
//
// Verifiers of gk.plan, gk.launch and gk.audit_launch.
//
//===----------------------------------------------------------------------===//

#include "dialects/kernel/IR/GKOps.h"

#include "dialects/graph/IR/GretaVerify.h"

using namespace mlir;
using namespace mlir::gk;

//===----------------------------------------------------------------------===//
// PlanOp
//===----------------------------------------------------------------------===//

greta::Phase PlanOp::getPhase() { return *greta::symbolizePhase(getSymName()); }

LogicalResult PlanOp::verify() {
  if (!greta::symbolizePhase(getSymName()))
    return emitOpError() << "is named @" << getSymName()
                         << "; a plan is named after its phase (@prefill or @decode)";
  for (Operation &op : getBody().front())
    if (!isa<LaunchOp, AuditLaunchOp>(op))
      return op.emitOpError() << "cannot appear in a gk.plan (only gk.launch, gk.audit_launch)";
  return success();
}

//===----------------------------------------------------------------------===//
// Launches
//===----------------------------------------------------------------------===//

/// `mul * d0 + add` as {mul, add}, or nullopt for any other form.
static std::optional<std::pair<int64_t, int64_t>> decomposeLinear(AffineExpr expr) {
  switch (expr.getKind()) {
  case AffineExprKind::Constant:
    return std::make_pair(int64_t{0}, cast<AffineConstantExpr>(expr).getValue());
  case AffineExprKind::DimId:
    return std::make_pair(int64_t{1}, int64_t{0});
  case AffineExprKind::Add:
  case AffineExprKind::Mul: {
    auto binary = cast<AffineBinaryOpExpr>(expr);
    auto lhs = decomposeLinear(binary.getLHS()), rhs = decomposeLinear(binary.getRHS());
    if (!lhs || !rhs)
      return std::nullopt;
    if (expr.getKind() == AffineExprKind::Add)
      return std::make_pair(lhs->first + rhs->first, lhs->second + rhs->second);
    // Affine maps only multiply by constants, so one side has mul == 0.
    return std::make_pair(lhs->first * rhs->second + rhs->first * lhs->second,
                          lhs->second * rhs->second);
  }
  default:
    return std::nullopt;
  }
}

std::optional<GridDim> mlir::gk::decomposeGridDim(AffineExpr expr) {
  GridDim dim;
  if (expr.getKind() == AffineExprKind::CeilDiv) {
    auto binary = cast<AffineBinaryOpExpr>(expr);
    auto divisor = dyn_cast<AffineConstantExpr>(binary.getRHS());
    if (!divisor || divisor.getValue() <= 0)
      return std::nullopt;
    dim.div = divisor.getValue();
    expr = binary.getLHS();
  }
  std::optional<std::pair<int64_t, int64_t>> linear = decomposeLinear(expr);
  if (!linear || linear->first < 0 || linear->second < 0)
    return std::nullopt;
  dim.mul = linear->first;
  dim.add = linear->second;
  return dim;
}

/// Checks a grid map: the sequence length (one dimension, no symbols) to 1-3 sizes, each of the
/// form the bundle records.
static LogicalResult verifyGrid(Operation *op, AffineMap grid) {
  if (grid.getNumDims() != 1 || grid.getNumSymbols() != 0)
    return op->emitOpError() << "grid must be a map of the sequence length alone (one "
                                "dimension, no symbols), got "
                             << AffineMapAttr::get(grid);
  if (grid.getNumResults() < 1 || grid.getNumResults() > 3)
    return op->emitOpError() << "grid must have 1 to 3 dimensions, got " << grid.getNumResults();
  for (auto [index, dim] : llvm::enumerate(grid.getResults())) {
    if (decomposeGridDim(dim))
      continue;
    std::string text;
    llvm::raw_string_ostream(text) << dim;
    return op->emitOpError() << "grid dimension #" << index << " (" << text
                             << ") is not of the form (mul * s + add) ceildiv div";
  }
  return success();
}

/// Checks that KV cache buffer #`index` holds the element type the kernel reads its caches as:
/// f16 where its params.kv_dtype is "f16", f32 otherwise (the emitted kernel's KVValue; a
/// mismatch would read binary16 bits as floats, or the reverse).
static LogicalResult verifyKVDtype(Operation *op, KernelOp kernel, FlatSymbolRefAttr kernelRef,
                                   size_t index, BufferOp buffer) {
  const bool f16 = kernel.hasF16KVCaches();
  std::optional<Type> held = buffer.getElementType();
  if (!held || (f16 ? !held->isF16() : !held->isF32()))
    return op->emitOpError() << "buffer #" << index << " (@" << buffer.getSymName()
                             << ") is a KV cache of " << (held ? *held : Type()) << " but "
                             << kernelRef << " reads its caches as " << (f16 ? "f16" : "f32")
                             << " (params.kv_dtype)";
  return success();
}

/// Checks that `kernelRef` names a gk.kernel and `buffers` name gk.buffers of the kinds it
/// declares, in order; returns the kernel.
static FailureOr<KernelOp> verifyKernelCall(Operation *op, SymbolTableCollection &symbols,
                                            FlatSymbolRefAttr kernelRef, ArrayAttr buffers) {
  Operation *symbol = symbols.lookupNearestSymbolFrom(op, kernelRef.getAttr());
  auto kernel = dyn_cast_or_null<KernelOp>(symbol);
  if (!kernel)
    return op->emitOpError() << kernelRef << " is not a gk.kernel";
  SmallVector<BufferKind> kinds = kernel.getArgKinds();
  if (kinds.size() != buffers.size())
    return op->emitOpError() << "binds " << buffers.size() << " buffers but " << kernelRef
                             << " takes " << kinds.size();
  for (auto [index, ref, expected] :
       llvm::enumerate(buffers.getAsRange<FlatSymbolRefAttr>(), kinds)) {
    auto buffer = symbols.lookupNearestSymbolFrom<BufferOp>(op, ref.getAttr());
    if (!buffer)
      return op->emitOpError() << "buffer #" << index << " (" << ref << ") is not a gk.buffer";
    if (buffer.getKind() != expected)
      return op->emitOpError() << "buffer #" << index << " (" << ref << ") is "
                               << stringifyBufferKind(buffer.getKind()) << " but " << kernelRef
                               << " expects " << stringifyBufferKind(expected);
    if (expected == BufferKind::KV && failed(verifyKVDtype(op, kernel, kernelRef, index, buffer)))
      return failure();
  }
  return kernel;
}

LogicalResult LaunchOp::verify() { return verifyGrid(*this, getGrid()); }

LogicalResult LaunchOp::verifySymbolUses(SymbolTableCollection &symbols) {
  return verifyKernelCall(*this, symbols, getKernelAttr(), getBuffers());
}

LogicalResult AuditLaunchOp::verify() {
  if (failed(greta::checks::verifyAuditLayer(*this, getPoint(), getLayerAttr())))
    return failure();
  return verifyGrid(*this, getGrid());
}

LogicalResult AuditLaunchOp::verifySymbolUses(SymbolTableCollection &symbols) {
  FailureOr<KernelOp> kernel = verifyKernelCall(*this, symbols, getKernelAttr(), getBuffers());
  if (failed(kernel))
    return failure();
  if (kernel->getFamily() != KernelFamily::AuditStats)
    return emitOpError() << getKernelAttr() << " is a "
                         << stringifyKernelFamily(kernel->getFamily())
                         << " kernel; an audit launch runs an audit_stats kernel";
  return success();
}
