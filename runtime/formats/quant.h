//===- quant.h - Row dequantization and quantization of ggml blocks --------===//
//
// Bit-exact with ggml's reference C code (and so with the `gguf` Python package) for
// F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K. Quantization is reference quality (ggml's
// `quantize_row_*_ref`), used to generate models and test data. Rows are whole blocks:
// `elements` must be a multiple of the type's block size (Error otherwise).
//
// Thread-safety: all functions are pure and may run concurrently on disjoint rows.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/formats/tensor_type.h"

#include <cstddef>
#include <cstdint>
#include <span>

namespace greta {

/// IEEE binary16 <-> binary32, round-to-nearest-even, NaN/Inf preserved.
uint16_t floatToHalf(float value);
float halfToFloat(uint16_t bits);
/// bfloat16 <-> binary32, round-to-nearest-even (NaN stays NaN), as ggml does.
uint16_t floatToBf16(float value);
float bf16ToFloat(uint16_t bits);

/// Decodes `dst.size()` values of `type` from `src` (exactly rowBytes(type, dst.size()) bytes).
void dequantizeRow(TensorType type, std::span<const uint8_t> src, std::span<float> dst);

/// Encodes `src` into `dst` (exactly rowBytes(type, src.size()) bytes). Block types (Q*) need
/// finite input: a NaN or Inf is an Error naming the element; F32/F16/BF16 store them.
void quantizeRow(TensorType type, std::span<const float> src, std::span<uint8_t> dst);

} // namespace greta
