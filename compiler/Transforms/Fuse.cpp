//===- Fuse.cpp - Llama layer fusions -------------------------------------===//
//
// Decode is bandwidth-bound: every intermediate that goes to memory and comes back costs as much
// as the arithmetic around it. These rewrites fold the cheap ops of a Llama layer into the
// matrix products next to them (norm prologues, residual and SwiGLU epilogues), or into each
// other (add + norm, RoPE + KV append), using the fused forms the greta dialect defines.
//
// Where two fusions compete for one op, a matmul absorbs it: the residual add goes into the
// o-proj/down matmul's epilogue rather than into an add_rms_norm, which is left for adds that no
// matmul can take. Each pattern checks the others' conditions, so the result does not depend on
// the order the driver visits ops in.
//
//===----------------------------------------------------------------------===//

#include "compiler/Transforms/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#define DEBUG_TYPE "greta-fuse"

namespace mlir::greta {
#define GEN_PASS_DEF_FUSE
#include "compiler/Transforms/Passes.h.inc"
} // namespace mlir::greta

using namespace mlir;
using namespace mlir::greta;

/// The matmul that produced `value` if it can take an epilogue: it has none yet and `value` has
/// no other user.
static MatmulOp getEpilogueHost(Value value) {
  auto matmul = value.getDefiningOp<MatmulOp>();
  if (!matmul || matmul.getEpilogue() != MatmulEpilogue::None || !value.hasOneUse())
    return {};
  return matmul;
}

/// True when a matmul operand of `add` can absorb it as a residual_add epilogue.
static bool hasEpilogueHost(AddOp add) {
  return getEpilogueHost(add.getLhs()) || getEpilogueHost(add.getRhs());
}

/// The residual add feeding `norm` when that add will become a greta.add_rms_norm (no matmul
/// can take it as an epilogue), else null.
static AddOp getAddRmsNormPartner(RmsNormOp norm) {
  auto add = norm.getInput().getDefiningOp<AddOp>();
  if (!add || hasEpilogueHost(add))
    return {};
  return add;
}

/// True when `a` is defined before `op` in `op`'s block (block arguments always are).
static bool isDefinedBefore(Value a, Operation *op) {
  Operation *def = a.getDefiningOp();
  if (!def)
    return a.getParentRegion()->isAncestor(op->getParentRegion());
  return def->getBlock() == op->getBlock() && def->isBeforeInBlock(op);
}

/// The type of the `greta.weight` named by `ref`, or null.
static WeightType lookupWeightType(Operation *from, FlatSymbolRefAttr ref) {
  auto weight = SymbolTable::lookupNearestSymbolFrom<WeightOp>(from, ref);
  return weight ? weight.getType() : WeightType();
}

namespace {

/// `greta.add(%r, matmul(...))` → `greta.matmul ... residual_add(%r)`.
struct FuseResidualAdd final : OpRewritePattern<AddOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(AddOp add, PatternRewriter &rewriter) const override {
    // Prefer the right operand: the importer writes `add(residual, branch)`.
    Value residual = add.getLhs();
    MatmulOp matmul = getEpilogueHost(add.getRhs());
    if (!matmul) {
      residual = add.getRhs();
      matmul = getEpilogueHost(add.getLhs());
    }
    if (!matmul)
      return rewriter.notifyMatchFailure(add, "no operand is a single-use matmul without "
                                              "an epilogue");
    rewriter.replaceOpWithNewOp<MatmulOp>(
        add, add.getType(), matmul.getInput(), matmul.getWeightAttr(),
        matmul.getNormWeightAttr(), matmul.getNormEpsAttr(), residual,
        /*up_weight=*/FlatSymbolRefAttr(), matmul.getRouteAttr());
    rewriter.eraseOp(matmul);
    return success();
  }
};

/// `greta.silu_mul(matmul(%x, @gate), matmul(%x, @up))` → `greta.matmul %x, @gate silu_mul(@up)`.
struct FuseSiluMul final : OpRewritePattern<SiluMulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(SiluMulOp siluMul, PatternRewriter &rewriter) const override {
    MatmulOp gate = getEpilogueHost(siluMul.getGate());
    MatmulOp up = getEpilogueHost(siluMul.getUp());
    if (!gate || !up)
      return rewriter.notifyMatchFailure(siluMul, "gate and up are not both single-use "
                                                  "matmuls without an epilogue");
    if (gate.getInput() != up.getInput())
      return rewriter.notifyMatchFailure(siluMul, "gate and up read different inputs");
    if (gate.getNormWeightAttr() != up.getNormWeightAttr() ||
        gate.getNormEpsAttr() != up.getNormEpsAttr() ||
        gate.getRouteAttr() != up.getRouteAttr())
      return rewriter.notifyMatchFailure(siluMul, "gate and up differ in prologue or route");
    WeightType gateType = lookupWeightType(gate, gate.getWeightAttr());
    if (!gateType || gateType != lookupWeightType(up, up.getWeightAttr()))
      return rewriter.notifyMatchFailure(siluMul, "gate and up weights differ in type");
    rewriter.replaceOpWithNewOp<MatmulOp>(
        siluMul, siluMul.getType(), gate.getInput(), gate.getWeightAttr(),
        gate.getNormWeightAttr(), gate.getNormEpsAttr(), /*residual=*/Value(),
        up.getWeightAttr(), gate.getRouteAttr());
    rewriter.eraseOp(gate);
    rewriter.eraseOp(up);
    return success();
  }
};

/// `greta.rms_norm` read only by matmuls (as their input) → each matmul's `rms_norm(...)`
/// prologue. A norm with any other user (an audit, the LM head) stays materialised.
struct FuseNormPrologue final : OpRewritePattern<RmsNormOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(RmsNormOp norm, PatternRewriter &rewriter) const override {
    Value normed = norm.getResult();
    if (normed.use_empty())
      return rewriter.notifyMatchFailure(norm, "unused");
    for (OpOperand &use : normed.getUses()) {
      auto matmul = dyn_cast<MatmulOp>(use.getOwner());
      if (!matmul || use.get() != matmul.getInput() || matmul.getResidual() == normed)
        return rewriter.notifyMatchFailure(norm, "has a user other than a matmul's input");
      if (matmul.hasNormPrologue())
        return rewriter.notifyMatchFailure(norm, "a user already has a prologue");
    }
    if (getAddRmsNormPartner(norm))
      return rewriter.notifyMatchFailure(norm, "fuses with the residual add before it instead");
    for (Operation *user : llvm::to_vector(normed.getUsers())) {
      auto matmul = cast<MatmulOp>(user);
      rewriter.modifyOpInPlace(matmul, [&] {
        matmul.getInputMutable().assign(norm.getInput());
        matmul.setNormWeightAttr(norm.getWeightAttr());
        matmul.setNormEpsAttr(norm.getEpsAttr());
      });
    }
    rewriter.eraseOp(norm);
    return success();
  }
};

/// `greta.rms_norm(greta.add(%a, %b))`, where no matmul can take the add → one
/// `greta.add_rms_norm` returning the sum (the residual stream) and the normalised rows.
struct FuseAddRmsNorm final : OpRewritePattern<RmsNormOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(RmsNormOp norm, PatternRewriter &rewriter) const override {
    AddOp add = getAddRmsNormPartner(norm);
    if (!add)
      return rewriter.notifyMatchFailure(norm, "input is not a residual add that stays an add");
    rewriter.setInsertionPoint(add);
    auto fused = rewriter.create<AddRmsNormOp>(norm.getLoc(), add.getLhs(), add.getRhs(),
                                               norm.getWeightAttr(), norm.getEpsAttr());
    rewriter.replaceOp(norm, fused.getNormed());
    rewriter.replaceOp(add, fused.getSum());
    return success();
  }
};

/// `greta.kv_append(greta.rope(%k), %v)` and the rope of the queries that attend over the same
/// cache → `greta.rope_kv_append %q, %k, %v`, which returns the rotated queries.
struct FuseRopeKVAppend final : OpRewritePattern<KVAppendOp> {
  using OpRewritePattern::OpRewritePattern;

  /// The rope of the queries that read `append`'s cache through a greta.attention.
  static RopeOp findQueryRope(KVAppendOp append) {
    for (Operation *user : append.getPositions().getUsers()) {
      auto attention = dyn_cast<AttentionOp>(user);
      if (!attention || attention.getCacheAttr() != append.getCacheAttr())
        continue;
      if (auto rope = attention.getQuery().getDefiningOp<RopeOp>())
        return rope;
    }
    return {};
  }

  LogicalResult matchAndRewrite(KVAppendOp append, PatternRewriter &rewriter) const override {
    auto keyRope = append.getKey().getDefiningOp<RopeOp>();
    if (!keyRope || !keyRope->hasOneUse())
      return rewriter.notifyMatchFailure(append, "keys are not a single-use rope");
    RopeOp queryRope = findQueryRope(append);
    if (!queryRope)
      return rewriter.notifyMatchFailure(append, "no roped query attends over this cache");
    if (queryRope.getPositions() != append.getPositions() ||
        keyRope.getPositions() != append.getPositions() ||
        queryRope.getThetaAttr() != keyRope.getThetaAttr() ||
        queryRope.getFreqsAttr() != keyRope.getFreqsAttr() ||
        queryRope.getHeadDim() != keyRope.getHeadDim())
      return rewriter.notifyMatchFailure(append, "query and key ropes differ");
    auto cache = SymbolTable::lookupNearestSymbolFrom<KVCacheOp>(append, append.getCacheAttr());
    if (!cache || cache.getType().getKvHeads() != static_cast<int64_t>(keyRope.getHeads()) ||
        cache.getType().getHeadDim() != static_cast<int64_t>(keyRope.getHeadDim()))
      return rewriter.notifyMatchFailure(append, "key rope does not match the cache's heads");
    // The fused op sits where the append is: the queries must exist by then, and nothing
    // before it may read the rotated queries.
    if (!isDefinedBefore(queryRope.getInput(), append))
      return rewriter.notifyMatchFailure(append, "queries are computed after the append");
    for (Operation *user : queryRope->getUsers())
      if (user->getBlock() != append->getBlock() || user->isBeforeInBlock(append))
        return rewriter.notifyMatchFailure(append, "rotated queries are read before the append");

    rewriter.setInsertionPoint(append);
    auto fused = rewriter.create<RopeKVAppendOp>(
        append.getLoc(), queryRope.getType(), queryRope.getInput(), keyRope.getInput(),
        append.getValue(), append.getPositions(), append.getCacheAttr(),
        queryRope.getHeadsAttr(), queryRope.getThetaAttr(), queryRope.getFreqsAttr());
    rewriter.replaceOp(queryRope, fused.getRotatedQuery());
    rewriter.eraseOp(append);
    rewriter.eraseOp(keyRope);
    return success();
  }
};

struct FusePass final : mlir::greta::impl::FuseBase<FusePass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateFusePatterns(patterns);
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace

void mlir::greta::populateFusePatterns(RewritePatternSet &patterns) {
  patterns.add<FuseResidualAdd, FuseSiluMul, FuseNormPrologue, FuseAddRmsNorm, FuseRopeKVAppend>(
      patterns.getContext());
}
