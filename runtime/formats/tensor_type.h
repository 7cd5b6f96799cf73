//===- tensor_type.h - ggml tensor types as stored in GGUF files -----------===//
//
// The numbering and block geometry of every tensor type a GGUF file may declare, so the reader
// can validate row sizes and byte counts of any file (and `greta-inspect` can list it), even for
// types GRETA cannot compute with. `isSupportedForCompute` says which ones the quant-block code
// (dequantize/quantize) handles.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace greta {

/// ggml's type ids (ggml.h `enum ggml_type`); gaps are ids ggml retired.
enum class TensorType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  IQ2_XXS = 16,
  IQ2_XS = 17,
  IQ3_XXS = 18,
  IQ1_S = 19,
  IQ4_NL = 20,
  IQ3_S = 21,
  IQ2_S = 22,
  IQ4_XS = 23,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  IQ1_M = 29,
  BF16 = 30,
  TQ1_0 = 34,
  TQ2_0 = 35,
  MXFP4 = 39,
};

struct TensorTypeTraits {
  TensorType type;
  std::string_view name;  ///< ggml's spelling: "Q4_K", "F16", ...
  uint32_t blockElements; ///< elements per block (1 for plain scalar types)
  uint32_t blockBytes;    ///< bytes per block
};

/// Traits of a known type id, or nullopt for an id no ggml version defines.
std::optional<TensorTypeTraits> tensorTypeTraits(uint32_t id);

/// Traits of a known type (never fails).
const TensorTypeTraits &traitsOf(TensorType type);

/// Parses ggml's spelling, case-insensitive ("q4_k", "F32").
std::optional<TensorType> parseTensorType(std::string_view name);

inline std::string_view nameOf(TensorType type) { return traitsOf(type).name; }

/// True for the types the quant-block code dequantizes and quantizes:
/// F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K.
bool isSupportedForCompute(TensorType type);

/// Bytes of one row of `elements` values; Error if `elements` is not a multiple of the block size
/// (the message names `what`) or the byte count overflows.
uint64_t rowBytes(TensorType type, uint64_t elements, std::string_view what);

} // namespace greta
