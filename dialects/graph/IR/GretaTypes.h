//===- GretaTypes.h - greta types --------------------------------*- C++ -*-===//
//
// `!greta.weight` and `!greta.kv`.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "dialects/graph/IR/GretaAttrs.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Types.h"

#define GET_TYPEDEF_CLASSES
#include "dialects/graph/IR/GretaTypes.h.inc"
