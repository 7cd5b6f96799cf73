//===- GKOps.h - gk operations -----------------------------------*- C++ -*-===//
//
// The `gk` operations, with the dialect and attributes they use.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "dialects/graph/IR/GretaOps.h"
#include "dialects/kernel/IR/GKAttrs.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/RegionKindInterface.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#define GET_OP_CLASSES
#include "dialects/kernel/IR/GKOps.h.inc"
