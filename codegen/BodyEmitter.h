//===- BodyEmitter.h - Fused element-wise bodies as device functions -*- C++ -*-===//
//
// A gk.kernel's prologue and epilogue are blocks of `arith`/`math` ops on f32 scalars ending in
// gk.yield. The emitter turns one into a small device function, one named local per op, so the
// fused computation reads as written in the IR:
//
//   ^bb0(%x: f32, %gamma: f32, %inv_rms: f32):        __device__ __forceinline__ float
//     %0 = arith.mulf %x, %inv_rms : f32        →     prologue(float x, float gamma, float inv_rms)
//     { %1 = arith.mulf %0, %gamma : f32                  const float t0 = x * inv_rms; gk.yield %1
//     : f32                                 const float t1 = t0 * gamma;
//                                                       return t1;
//                                                     }
//
// Thread-safety: stateless.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "mlir/IR/Region.h"
#include "mlir/Support/LogicalResult.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

#include <string>

namespace greta::codegen {

/// Emits `body` (one block of f32 arguments named `argNames`) as the device function `name`.
/// Ops the emitter cannot translate are reported on the op; the result is then failure.
mlir::FailureOr<std::string> emitBodyFunction(mlir::Region &body, llvm::StringRef name,
                                              llvm::ArrayRef<llvm::StringRef> argNames);

/// `value` as a C++ float literal that reads back to the same bits ("1.0f", "9.99999975e-06f",
/// "__int_as_float(0x7f800000)" for infinities and NaNs).
std::string formatFloatLiteral(float value);

} // namespace greta::codegen
