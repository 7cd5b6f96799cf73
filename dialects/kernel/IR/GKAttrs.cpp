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

namespace {
constexpr BufferKind kAct = BufferKind::Activation;
constexpr BufferKind kIn = BufferKind::Input;
constexpr BufferKind kW = BufferKind::Weight;
constexpr BufferKind kKV = BufferKind::KV;

// Argument lists of docs/bundle-format.md, in its order.
constexpr BufferKind kEmbeddingArgs[] = {kIn, kW, kAct};               // tokens, table, out
constexpr BufferKind kRmsNormArgs[] = {kAct, kW, kAct};                // x, weight, out
constexpr BufferKind kAddRmsNormArgs[] = {kAct, kAct, kW, kAct, kAct}; // a, b, weight, sum, out
constexpr BufferKind kMatmulArgs[] = {kAct, kW, kAct};                 // x, weight, out
constexpr BufferKind kGateUpArgs[] = {kAct, kW, kW, kAct};             // x, gate, up, out
// x, q/k/v weights, q/k/v, positions, k/v cache
constexpr BufferKind kQKVArgs[] = {kAct, kW, kW, kW, kAct, kAct, kAct, kIn, kKV, kKV};
constexpr BufferKind kRopeArgs[] = {kAct, kIn};                        // x (in place), positions
constexpr BufferKind kKVAppendArgs[] = {kAct, kAct, kIn, kKV, kKV};    // k, v, pos, k/v cache
constexpr BufferKind kRopeKVAppendArgs[] = {kAct, kAct, kAct, kIn, kKV, kKV}; // q, k, v, ...
constexpr BufferKind kAttentionArgs[] = {kAct, kKV, kKV, kIn, kAct}; // q, k/v cache, pos, out
constexpr BufferKind kBinaryArgs[] = {kAct, kAct, kAct};             // a, b, out
constexpr BufferKind kLmHeadArgs[] = {kAct, kW, BufferKind::Logits}; // x, weight, out
constexpr BufferKind kAuditArgs[] = {kAct, BufferKind::Audit};       // x, stats
constexpr BufferKind kDequantArgs[] = {kW, BufferKind::Scratch};     // weight, out
constexpr BufferKind kCastArgs[] = {kAct, kAct};                      // x, out (binary16)

using enum BodyUse;
using enum RouteClass;

/// Indexed by KernelFamily. Columns: args, reads a weight matrix, routes, prologue, epilogue,
/// the argument an epilogue adds.
// clang-format off
const FamilyTraits kFamilyTraits[] = {
    {kEmbeddingArgs,    true,  None,      Never,    Never,    std::nullopt}, // embedding
    {kRmsNormArgs,      false, None,      Never,    Never,    std::nullopt}, // rms_norm
    {kAddRmsNormArgs,   false, None,      Never,    Never,    std::nullopt}, // add_rms_norm
    {kMatmulArgs,       true,  Matrix,    Optional, Optional, kAct},         // matmul
    {kGateUpArgs,       true,  Matrix,    Optional, Required, std::nullopt}, // matmul_gate_up
    {kRopeArgs,         false, None,      Never,    Never,    std::nullopt}, // rope
    {kKVAppendArgs,     false, None,      Never,    Never,    std::nullopt}, // kv_append
    {kRopeKVAppendArgs, false, None,      Never,    Never,    std::nullopt}, // rope_kv_append
    {kAttentionArgs,    false, Attention, Never,    Never,    std::nullopt}, // attention
    {kBinaryArgs,       false, None,      Never,    Never,    std::nullopt}, // silu_mul
    {kBinaryArgs,       false, None,      Never,    Never,    std::nullopt}, // add
    {kLmHeadArgs,       true,  Matrix,    Never,    Never,    std::nullopt}, // lm_head
    {kAuditArgs,        false, None,      Never,    Never,    std::nullopt}, // audit_stats
    {kQKVArgs,          true,  Gemv,      Optional, Never,    std::nullopt}, // matmul_qkv
    {kDequantArgs,      true,  None,      Never,    Never,    std::nullopt}, // dequant_f16
    {kCastArgs,         false, None,      Optional, Never,    std::nullopt}, // cast_f16
};
// clang-format on
static_assert(std::size(kFamilyTraits) == getMaxEnumValForKernelFamily() + 1,
              "one FamilyTraits per KernelFamily");
} // namespace

const FamilyTraits &mlir::gk::getFamilyTraits(KernelFamily family) {
  return kFamilyTraits[static_cast<uint32_t>(family)];
}

SmallVector<BufferKind> mlir::gk::getExpectedArgs(KernelFamily family, bool hasPrologue,
                                                  bool hasEpilogue, bool f16Weights) {
  const FamilyTraits &traits = getFamilyTraits(family);
  SmallVector<BufferKind> args(traits.args.begin(), traits.args.end());
  if (hasPrologue)
    args.push_back(BufferKind::Weight);
  if (hasEpilogue && traits.epilogueArg)
    args.push_back(*traits.epilogueArg);
  if (f16Weights) {
    args.push_back(BufferKind::Activation); // x_f16
    args.append(getF16WeightCount(family), BufferKind::Scratch);
  }
  return args;
}

int64_t mlir::gk::getF16WeightCount(KernelFamily family) {
  switch (family) {
  case KernelFamily::Matmul:
    return 1;
  case KernelFamily::MatmulGateUp:
    return 2;
  default:
    return 0;
  }
}

bool mlir::gk::isCompatibleKind(BufferKind expected, BufferKind actual) {
  return actual == expected || (expected == BufferKind::Activation && actual == BufferKind::Logits);
}

bool mlir::gk::isRouteOf(RouteClass routes, KernelRoute route) {
  switch (routes) {
  case RouteClass::None:
    return false;
  case RouteClass::Matrix:
    return route == KernelRoute::Gemv || route == KernelRoute::Gemm;
  case RouteClass::Gemv:
    return route == KernelRoute::Gemv;
  case RouteClass::Attention:
    return route == KernelRoute::SplitKV || route == KernelRoute::Flash;
  }
  llvm_unreachable("unknown RouteClass");
}

std::string mlir::gk::formatKinds(ArrayRef<BufferKind> kinds) {
  std::string text = "(";
  llvm::raw_string_ostream os(text);
  llvm::interleaveComma(kinds, os, [&](BufferKind kind) { os << stringifyBufferKind(kind); });
  os << ")";
  return text;
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
