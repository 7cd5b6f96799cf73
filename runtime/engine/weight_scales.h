//===- weight_scales.h - Where a quantized block keeps its scales ----------===//
//
// The audit record's `lm_head_scales_hash` and the `scales` fault both need the scale fields of
// a weight's blocks. In ggml's block layouts (runtime/formats/quant_blocks.h, as stored in the
// GGUF and in the `ggml` bundle layout) they are:
//   Q8_0, Q4_0   d (binary16)                          bytes [0, 2)   of each block
//   Q4_K, Q5_K   d, dmin (binary16), scales[12]        bytes [0, 16)
//   Q6_K         scales[16] (int8), d (binary16)       bytes [192, 210)
// Float types (F32, F16, BF16; the f16_rows layout) have no scales.
//
// lm_head_scales_hash = FNV-1a 64 over those bytes of every block, rows in order, blocks in
// order within a row; for a float weight, over all of its bytes. It is computed over the weight
// as the LM head launch reads it, so a corrupted or differently repacked copy shows up as a
// different hash between phases.
//
// Thread-safety: pure functions.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/cpu/weight_view.h"

#include <cstdint>
#include <optional>

namespace greta::engine {

struct ScaleFields {
  uint32_t offset = 0; ///< first byte of the scale fields in a block
  uint32_t bytes = 0;  ///< bytes of scale fields
};

/// The scale fields of `type`'s blocks, or nullopt for a type without block scales.
std::optional<ScaleFields> scaleFieldsOf(TensorType type);

/// lm_head_scales_hash of `weight` (see above).
uint64_t scalesHash(const cpu::WeightView &weight);

} // namespace greta::engine
