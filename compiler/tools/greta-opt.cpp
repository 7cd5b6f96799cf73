//===- greta-opt.cpp - MLIR driver for GRETA's dialects and passes --------===//
//
// `greta-opt FILE.mlir [--pass ...]`: parses, verifies, transforms and prints IR in the
// `greta` and `gk` dialects. The lit suite (test/lit) runs every dialect and pass test with it.
//
//===----------------------------------------------------------------------===//

#include "compiler/Transforms/Passes.h"
#include "dialects/graph/IR/GretaOps.h"
#include "dialects/kernel/IR/GKOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

int main(int argc, char **argv) {
  // MLIR's generic passes (canonicalize, cse, symbol-dce, ...), which GRETA's pipeline also runs.
  mlir::registerTransformsPasses();
  // GRETA's pipeline passes (greta-specialize-phases, ..., greta-emit-hip).
  mlir::greta::registerGretaPasses();
  mlir::DialectRegistry registry;
  registry.insert<mlir::greta::GretaDialect, mlir::gk::GKDialect, mlir::arith::ArithDialect,
                  mlir::func::FuncDialect, mlir::math::MathDialect, mlir::tensor::TensorDialect>();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "GRETA optimizer driver\n", registry));
}
