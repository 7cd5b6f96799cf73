//===- ImportGguf.h - GGUF Llama model → greta IR ----------------*- C++ -*-===//
//
// The first stage of the pipeline (00-import). Reads a Llama GGUF's metadata and tensor table
// (never its tensor data) and builds a module holding:
//
//   * `greta.model = #greta.model<...>`: the hyper-parameters;
//   * one `greta.weight` symbol per tensor of the file, typed from the GGUF (shape, quant type);
//   * one `greta.kv_cache` per layer;
//   * `func.func @forward(%tokens: tensor<?xi32>, %positions: tensor<?xi32>) -> tensor<?xVxf32>`,
//     the whole Llama forward pass over a dynamic sequence length.
//
// Thread-safety: one import per MLIRContext at a time.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/StringRef.h"

#include <string>

namespace greta {

/// Imports the GGUF at `path`. On failure returns null and sets `*error` to a message that
/// names the file and the key or tensor at fault: an unreadable file, an architecture other
/// than `llama`, a missing key or tensor, a tensor whose shape or type the model cannot use.
/// Loads the greta and func dialects into `context`.
mlir::OwningOpRef<mlir::ModuleOp> importGguf(llvm::StringRef path, mlir::MLIRContext *context,
                                             std::string *error);

/// The symbol a GGUF tensor becomes: `.weight` dropped, `blk.N.` → `blkN_`, other dots → `_`
/// (`blk.0.attn_q.weight` → `blk0_attn_q`, `output.weight` → `output`).
std::string weightSymbolName(llvm::StringRef ggufName);

} // namespace greta
