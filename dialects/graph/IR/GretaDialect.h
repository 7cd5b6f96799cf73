//===- GretaDialect.h - the greta graph dialect ------------------*- C++ -*-===//
//
// The `greta` dialect class. Include GretaOps.h for the operations, attributes and types.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "mlir/IR/Dialect.h"

#include "dialects/graph/IR/GretaDialect.h.inc"
