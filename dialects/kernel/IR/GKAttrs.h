//===- GKAttrs.h - gk enumerations and attributes ----------------*- C++ -*-===//
//
// KernelFamily, KernelRoute, BufferKind and `#gk.tiles`, with what each family allows.
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

/// Which routes a family takes.
enum class RouteClass {
  None,      ///< no route
  Matrix,    ///< gemv or gemm
  Gemv,      ///< gemv only
  Attention, ///< split_kv or flash
};

/// Whether a family takes a fused prologue or epilogue body.
enum class BodyUse { Never, Optional, Required };

/// Block arguments of a prologue body: (x, gamma, inv_rms).
inline constexpr unsigned kPrologueArgs = 3;
/// Block arguments of an epilogue body: (acc, residual) or (gate, up).
inline constexpr unsigned kEpilogueArgs = 2;

/// The contract of one kernel family (docs/bundle-format.md): its buffer arguments and what may
/// specialise it. The verifier, the lowering and the bundle writer read this one table.
struct FamilyTraits {
  /// Buffer kinds in argument order, without the extras that bodies add.
  ArrayRef<BufferKind> args;
  /// Reads a weight matrix, so the kernel names its quant type.
  bool readsWeightMatrix;
  RouteClass routes;
  /// A prologue adds one trailing `weight` argument (the norm weight).
  BodyUse prologue;
  BodyUse epilogue;
  /// The trailing argument an epilogue adds (matmul: the residual), if any.
  std::optional<BufferKind> epilogueArg;
};

/// The traits of `family`.
const FamilyTraits &getFamilyTraits(KernelFamily family);

/// The buffer kinds `family` binds, in order, given which bodies the kernel has and whether it
/// reads its weight matrices as binary16 scratch buffers (the gemm route after dequant_f16
/// launches): then the binary16 input (cast_f16's output) and one scratch per weight matrix
/// (getF16WeightCount) come last.
SmallVector<BufferKind> getExpectedArgs(KernelFamily family, bool hasPrologue, bool hasEpilogue,
                                        bool f16Weights = false);

/// The weight matrices a family's gemm route can read as binary16 scratch buffers: matmul's
/// weight (1), matmul_gate_up's gate and up (2); 0 for the others.
int64_t getF16WeightCount(KernelFamily family);

/// True when a buffer of kind `actual` can be bound where `expected` is declared: the same kind,
/// or logits where an activation is expected (logits are the last activation).
bool isCompatibleKind(BufferKind expected, BufferKind actual);

/// True when `route` belongs to `routes`.
bool isRouteOf(RouteClass routes, KernelRoute route);

/// "(activation, weight, activation)".
std::string formatKinds(ArrayRef<BufferKind> kinds);

} // namespace mlir::gk
