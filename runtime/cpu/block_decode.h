//===- block_decode.h - Fast decoding of weight blocks for the dot products -===//
//
// formats/quant.h is the reference decoder (bit-exact with ggml), written for clarity and
// validated per call. The CPU dot products decode a few blocks at a time, millions of times per
// token, so they use these decoders instead: the same arithmetic in the same order (each value is
// bit-identical to dequantizeRow's, which a test checks for every type), written as loops the
// compiler vectorises, with binary16 scales read from a table built from the reference conversion.
//
// Thread-safety: pure functions (the table is built once, thread-safely, on first use).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/formats/tensor_type.h"

#include <cstddef>
#include <cstdint>

namespace greta::cpu {

/// Decodes `blocks` whole blocks of a type from `src` into `dst` (blockElements each).
using BlockDecoder = void (*)(const uint8_t *src, float *dst, size_t blocks);

/// The decoder of `type`; throws greta::Error for a type the CPU backend does not compute with.
BlockDecoder blockDecoder(TensorType type);

} // namespace greta::cpu
