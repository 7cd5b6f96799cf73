//===- GretaOps.h - greta operations -----------------------------*- C++ -*-===//
//
// The `greta` operations, with the dialect, attributes and types they use.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "dialects/graph/IR/GretaTypes.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace mlir::greta {

/// Every KV cache, as one side-effect resource: appends stay ordered before attention reads.
struct KVCacheResource : SideEffects::Resource::Base<KVCacheResource> {
  StringRef getName() final { return "greta.kv_cache"; }
};

/// The audit record: a write to it keeps `greta.audit` alive through DCE and CSE.
struct AuditResource : SideEffects::Resource::Base<AuditResource> {
  StringRef getName() final { return "greta.audit"; }
};

} // namespace mlir::greta

#define GET_OP_CLASSES
#include "dialects/graph/IR/GretaOps.h.inc"
