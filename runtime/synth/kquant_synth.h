//===- kquant_synth.h - Random K-quant blocks made directly, not quantized -===//
//
// Reference K-quant quantization (an iterative search per block) runs at well under 100 MB/s per
// core, so quantizing the 8 billion values of an 8B model on a small machine would take minutes,
// not the few seconds its disk needs. greta-synth therefore draws K-quant blocks directly:
//   - each 4-bit (Q4_K) or 6-bit (Q6_K) code comes from a discretised normal around the code
//     range's centre, through a lookup table indexed by random bits (counts exactly symmetric, so
//     the codes' mean is exactly the centre);
//   - sub-block scales are random integers in the upper part of their range, as real blocks' are;
//   - the super-block scale d is chosen so that the dequantized values have the requested
//     standard deviation, and Q4_K's min offset is exactly 7.5 * d * scale, so their mean is 0.
// The blocks are ordinary valid blocks: any Q4_K/Q6_K dequantizer decodes them to a normal-like
// distribution with the requested scale.
//
// Thread-safety: pure functions of their arguments (the tables are built once, thread-safely).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/formats/tensor_type.h"
#include "runtime/synth/prng.h"

#include <cstdint>
#include <span>

namespace greta::synth {

/// True for the types synthesizeKQuantBlocks makes (Q4_K, Q6_K).
bool isSynthesizedKQuant(TensorType type);

/// Fills `dst`, a whole number of `type` blocks, with random blocks whose dequantized values have
/// mean 0 and standard deviation `stddev` (> 0, within F16's normal range per block scale).
void synthesizeKQuantBlocks(TensorType type, float stddev, RandomStream &random,
                            std::span<uint8_t> dst);

} // namespace greta::synth
