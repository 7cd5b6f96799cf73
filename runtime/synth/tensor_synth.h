//===- tensor_synth.h - The bytes of one planned tensor ---------------------===//
//
// A tensor is cut into chunks of whole rows (sized from its row length alone, never from the
// thread count or type); chunk c is drawn from the stream streamSeed(seed, name, c). So a
// tensor's bytes depend only on (seed, plan), chunks can be made in any order on any thread, and
// the f32, f16 and q8_0 files of one seed hold the same weights at different precisions.
//
// Values: matrices ~ normal(0, stddev); norms 1 + normal(0, stddev); fixed tensors (RoPE factors)
// as planned. F32/F16/Q8_0 are made from float samples (Q8_0 through the reference quantizer,
// which is fast); Q4_K/Q6_K blocks are synthesized directly (kquant_synth.h explains why).
//
// Thread-safety: pure functions; synthesizeTensor uses up to `threads` threads.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/synth/model_plan.h"

#include <cstdint>
#include <span>

namespace greta::synth {

struct ChunkLayout {
  uint64_t rows = 0;
  uint64_t rowBytes = 0;
  uint64_t rowsPerChunk = 0;
  uint64_t chunks = 0;
};

ChunkLayout chunkLayout(const PlannedTensor &tensor);

/// Fills chunk `chunk` of `tensor` (dst: exactly its bytes).
void synthesizeChunk(const PlannedTensor &tensor, uint64_t seed, uint64_t chunk,
                     std::span<uint8_t> dst);

/// Fills all of `tensor` (dst.size() == tensor.bytes) using up to `threads` threads.
void synthesizeTensor(const PlannedTensor &tensor, uint64_t seed, unsigned threads,
                      std::span<uint8_t> dst);

} // namespace greta::synth
