//===- QuantFormats.h - Weight storage types as kernels read them -*- C++ -*-===//
//
// For each `greta` quant type: the ggml block geometry (so the lowering can size weight buffers
// and the emitter can bake row strides), the ggml spelling the bundle uses ("Q4_K"), and the
// device snippet (codegen/templates/quant/<name>.hip) that decodes it. Block layouts are
// ggml's, byte for byte (runtime/formats/quant_blocks.h), because weights are stored in layout
// `ggml`; `f16_rows` weights are F16.
//
// Thread-safety: immutable table.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "dialects/graph/IR/GretaAttrs.h"

#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <optional>

namespace greta::codegen {

struct QuantFormat {
  mlir::greta::QuantType type;
  llvm::StringLiteral ggmlName; ///< "Q4_K": params.quant and weights.tensors[].type
  llvm::StringLiteral snippet;  ///< template under codegen/templates/quant/
  int64_t blockElements;
  int64_t blockBytes;
  /// The gemv route's decoder (codegen/templates/quant_gemv/<name>.hip): each lane decodes a
  /// "piece" of gemvPieceValues values from one 16-byte load of quantised values; formats
  /// without a vector decoder use `generic` (one kChunkElements chunk through the snippet).
  llvm::StringLiteral gemvSnippet;
  int64_t gemvPieceValues;
  /// The type the gemv decoder multiplies the input in: "f32", or "i16" where it reads the
  /// input quantised to int16 per 32 values for integer dot products (its kStagedInt16); the
  /// manifest's dtype_a, which sets the kernel tests' tolerance.
  llvm::StringLiteral gemvInputDtype;
};

/// Shared-memory bytes a gemv block stages for `values` input values in the form `format`'s
/// decoder reads (matmul_gemv.hip): 4 per value as f32; as int16, 2 per value plus an f32 scale
/// per 32 values and an f32 sum per 16.
int64_t gemvStagedBytes(const QuantFormat &format, int64_t values);

/// The format of `type` (every QuantType has one).
const QuantFormat &getQuantFormat(mlir::greta::QuantType type);

/// Bytes of one row of `elements` values of `type`, or nullopt when `elements` is not a whole
/// number of blocks.
std::optional<int64_t> getRowBytes(mlir::greta::QuantType type, int64_t elements);

/// Elements every template decodes at once: one "chunk". Every block is a whole number of
/// chunks, so a reduction length that is a multiple of the block splits into chunks exactly.
inline constexpr int64_t kChunkElements = 8;

} // namespace greta::codegen
