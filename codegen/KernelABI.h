//===- KernelABI.h - How the runtime calls an emitted kernel -----*- C++ -*-===//
//
// Every emitted kernel has one entry point
//
//   extern "C" __global__ void <entry>(const Params p)
//
// taking one struct by value. Its fields, in order:
//
//   1. one pointer per launch argument, in the gk.launch order (the family's argument order of
//      docs/bundle-format.md, the norm weight and residual last), named as in the bundle's
//      `args` ("x", "weight", "out", "norm", ...);
//   2. `freqs` for the RoPE families: the weight params.freqs names, or null for none;
//   3. `int32_t rows`: the rows this launch processes (S: the rows of the family's row
//      argument in this phase, 1 for a one-row buffer);
//   4. `int32_t ctx`: the rows allocated in the KV caches (the run-time context length); 0
//      for families without a cache.
//
// Pointers are 8 bytes and the two integers 4 each, so the struct has no padding. A buffer
// pointer points at the first row the launch uses: for an argument read or written per row,
// the last S rows of its buffer (the first row when the buffer has S rows); for lm_head's x
// and audit_stats' x (the family reads one row) the buffer's last row; KV caches, weights and
// audit records at their start. The manifest's kernel params carry the field list as
// `param_fields` ("x,weight,out,norm,rows,ctx") so a runtime packs the struct by name.
//
// This one table names the arguments for the emitter (the Params struct), the bundle writer
// (launch args, param_fields) and the audit bookkeeping (which arguments a launch writes).
//
// Thread-safety: immutable tables.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "dialects/kernel/IR/GKAttrs.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"

#include <string>

namespace greta::codegen {

enum class ArgAccess { Read, Write, ReadWrite };

/// What a pointer field points at, which fixes its C++ type.
enum class ArgData {
  F32Rows,     ///< activation or logits rows: float
  I32Rows,     ///< tokens / positions: int32_t
  WeightBytes, ///< a weight matrix in its storage layout: uint8_t
  NormWeight,  ///< a vector weight (RMSNorm gamma): float
  KVCache,     ///< a KV cache, ctx rows: f32, or binary16 bits (kernel param kv_dtype)
  AuditRecord, ///< a 64-byte audit record
  F16Scratch,  ///< a scratch buffer of binary16 values (dequant_f16's weights): uint16_t bits
  F16Rows,     ///< activation rows of binary16 values (cast_f16's output): uint16_t bits
};

struct KernelArg {
  llvm::StringLiteral name;
  ArgAccess access;
  ArgData data;
};

/// The arguments a launch of `family` binds, in gk.launch order, given which fused bodies the
/// kernel has and whether it reads binary16 scratch weights. Agrees with
/// mlir::gk::getExpectedArgs in count and kind.
llvm::SmallVector<KernelArg> getKernelArgs(mlir::gk::KernelFamily family, bool hasPrologue,
                                           bool hasEpilogue, bool f16Weights = false);

/// True for the families whose Params carry `freqs` (rope, rope_kv_append).
bool hasRopeFreqsField(mlir::gk::KernelFamily family);

/// The Params field names in order, comma-separated: the manifest's `param_fields`.
std::string getParamFields(mlir::gk::KernelFamily family, bool hasPrologue, bool hasEpilogue,
                           bool f16Weights = false);

/// The C++ type of a pointer field, in the prelude's names ("const float *", "const u8 *", ...).
std::string getFieldType(const KernelArg &arg);

} // namespace greta::codegen
