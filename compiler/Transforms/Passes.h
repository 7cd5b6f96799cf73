//===- Passes.h - GRETA's compiler passes ------------------------*- C++ -*-===//
//
// Declarations of every pass of the pipeline (Passes.td), their options structs, the pattern
// sets that are usable without the pass, and registration for greta-opt.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "dialects/graph/IR/GretaOps.h"
#include "dialects/kernel/IR/GKOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Pass/Pass.h"

#include <memory>

namespace mlir {
class RewritePatternSet;

namespace greta {

#define GEN_PASS_DECL
#include "compiler/Transforms/Passes.h.inc"

/// greta-fuse's rewrites (residual_add and silu_mul epilogues, rms_norm prologues,
/// add_rms_norm, rope_kv_append), for use outside the pass.
void populateFusePatterns(RewritePatternSet &patterns);

#define GEN_PASS_REGISTRATION
#include "compiler/Transforms/Passes.h.inc"

} // namespace greta
} // namespace mlir
