//===- GKDialect.h - the gk kernel dialect -----------------------*- C++ -*-===//
//
// The `gk` dialect class. Include GKOps.h for the operations and attributes.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "dialects/graph/IR/GretaDialect.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/Dialect.h"

#include "dialects/kernel/IR/GKDialect.h.inc"
