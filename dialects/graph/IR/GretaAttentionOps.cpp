//===- GretaAttentionOps.cpp - RoPE, KV cache and attention ops -----------===//
//
// Verifiers of greta.rope, greta.kv_append, greta.attention and their fused form
// greta.rope_kv_append.
//
//===----------------------------------------------------------------------===//

#include "dialects/graph/IR/GretaOps.h"

#include "dialects/graph/IR/GretaVerify.h"

using namespace mlir;
using namespace mlir::greta;
using namespace mlir::greta::checks;

/// Checks what RoPE needs of its attributes: an even head_dim and a positive theta.
static LogicalResult verifyRopeParams(Operation *op, int64_t headDim, const APFloat &theta) {
  if (headDim % 2 != 0)
    return op->emitOpError() << "head_dim (" << headDim << ") must be even: RoPE rotates pairs";
  return verifyPositive(op, "theta", theta);
}

/// Checks the optional Llama-3.1 frequency vector: head_dim / 2 elements.
static LogicalResult verifyRopeFreqs(Operation *op, SymbolTableCollection &symbols,
                                     FlatSymbolRefAttr freqs, int64_t headDim) {
  if (!freqs)
    return success();
  return verifyVectorWeight(op, symbols, freqs, "freqs", headDim / 2, "head_dim / 2");
}

/// Checks that `heads` query heads share `kvHeads` KV heads evenly.
static LogicalResult verifyGroupedHeads(Operation *op, int64_t heads, int64_t kvHeads) {
  if (kvHeads <= 0 || heads <= 0)
    return op->emitOpError() << "heads (" << heads << ") and kv_heads (" << kvHeads
                             << ") must be positive";
  if (heads % kvHeads != 0)
    return op->emitOpError() << "heads (" << heads << ") must be a multiple of kv_heads ("
                             << kvHeads << ")";
  return success();
}

//===----------------------------------------------------------------------===//
// RopeOp
//===----------------------------------------------------------------------===//

LogicalResult RopeOp::verify() {
  int64_t heads = getHeadsAttr().getInt(), headDim = getHeadDimAttr().getInt();
  if (failed(verifyHeads(*this, getInput(), "input", heads, headDim)) ||
      failed(verifyRopeParams(*this, headDim, getTheta())))
    return failure();
  return verifySameRows(*this, getInput(), "input", getPositions(), "positions");
}

LogicalResult RopeOp::verifySymbolUses(SymbolTableCollection &symbols) {
  return verifyRopeFreqs(*this, symbols, getFreqsAttr(), getHeadDimAttr().getInt());
}

//===----------------------------------------------------------------------===//
// KVAppendOp
//===----------------------------------------------------------------------===//

LogicalResult KVAppendOp::verify() {
  return verifySameRows(*this, getKey(), "key", getPositions(), "positions");
}

LogicalResult KVAppendOp::verifySymbolUses(SymbolTableCollection &symbols) {
  FailureOr<KVCacheType> cache = lookupCache(*this, symbols, getCacheAttr());
  if (failed(cache))
    return failure();
  return verifyRowLength(*this, getKey(), "key", cache->getRowLength(),
                         "the cache's kv_heads * head_dim");
}

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

LogicalResult AttentionOp::verify() {
  int64_t heads = getHeadsAttr().getInt();
  if (failed(verifyGroupedHeads(*this, heads, getKvHeadsAttr().getInt())))
    return failure();
  int64_t length = getDim(getQuery().getType(), 1);
  if (!ShapedType::isDynamic(length) && length % heads != 0)
    return emitOpError() << "query rows of " << length << " elements do not divide into " << heads
                         << " heads";
  if (getScale() && failed(verifyPositive(*this, "scale", *getScale())))
    return failure();
  return verifySameRows(*this, getQuery(), "query", getPositions(), "positions");
}

LogicalResult AttentionOp::verifySymbolUses(SymbolTableCollection &symbols) {
  FailureOr<KVCacheType> cache = lookupCache(*this, symbols, getCacheAttr());
  if (failed(cache))
    return failure();
  int64_t kvHeads = getKvHeadsAttr().getInt();
  if (cache->getKvHeads() != kvHeads)
    return emitOpError() << "kv_heads (" << kvHeads << ") differs from the cache's ("
                         << cache->getKvHeads() << ")";
  return verifyHeads(*this, getQuery(), "query", getHeadsAttr().getInt(), cache->getHeadDim());
}

//===----------------------------------------------------------------------===//
// RopeKVAppendOp
//===----------------------------------------------------------------------===//

LogicalResult RopeKVAppendOp::verify() {
  if (failed(verifyPositive(*this, "theta", getTheta())))
    return failure();
  return verifySameRows(*this, getQuery(), "query", getPositions(), "positions");
}

LogicalResult RopeKVAppendOp::verifySymbolUses(SymbolTableCollection &symbols) {
  FailureOr<KVCacheType> cache = lookupCache(*this, symbols, getCacheAttr());
  if (failed(cache))
    return failure();
  int64_t heads = getHeadsAttr().getInt(), headDim = cache->getHeadDim();
  if (failed(verifyGroupedHeads(*this, heads, cache->getKvHeads())) ||
      failed(verifyRopeParams(*this, headDim, getTheta())) ||
      failed(verifyHeads(*this, getQuery(), "query", heads, headDim)) ||
      failed(verifyRowLength(*this, getKey(), "key", cache->getRowLength(),
                             "the cache's kv_heads * head_dim")))
    return failure();
  return verifyRopeFreqs(*this, symbols, getFreqsAttr(), headDim);
}
