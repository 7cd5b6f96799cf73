#include "runtime/synth/tensor_synth.h"

#include "runtime/formats/quant.h"
#include "runtime/support/error.h"
#include "runtime/synth/kquant_synth.h"
#include "runtime/synth/parallel_for.h"
#include "runtime/synth/prng.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <vector>

namespace greta::synth {
namespace {

// Chunks of about 2^18 values (1 MiB as F32): hundreds per large tensor keep threads balanced,
// and a chunk is big enough that seeding its stream costs nothing. Counted in values, not bytes,
// so that f32, f16 and q8_0 files of one seed encode the very same samples. Changing this
// changes every file's bytes.
constexpr uint64_t kChunkTargetValues = 1u << 18;

void storeLittleEndian(uint8_t *dst, uint32_t bits, int bytes) {
  for (int i = 0; i < bytes; ++i)
    dst[i] = static_cast<uint8_t>(bits >> (8 * i));
}

/// Encodes one row of floats as `type` (the types made from float samples).
void encodeRow(TensorType type, std::span<const float> row, uint8_t *dst) {
  switch (type) {
  case TensorType::F32:
    for (size_t i = 0; i < row.size(); ++i)
      storeLittleEndian(dst + 4 * i, std::bit_cast<uint32_t>(row[i]), 4);
    return;
  case TensorType::F16:
    for (size_t i = 0; i < row.size(); ++i)
      storeLittleEndian(dst + 2 * i, floatToHalf(row[i]), 2);
    return;
  default:
    quantizeRow(type, row, std::span<uint8_t>(dst, rowBytes(type, row.size(), "synth row")));
  }
}

void sampleRow(const PlannedTensor &tensor, RandomStream &random, std::span<float> row) {
  const float base = tensor.role == TensorRole::Norm ? 1.0f : 0.0f;
  for (float &value : row)
    value = base + tensor.stddev * random.normal();
}

} // namespace

ChunkLayout chunkLayout(const PlannedTensor &tensor) {
  ChunkLayout layout;
  layout.rowBytes = rowBytes(tensor.type, tensor.dims[0], tensor.name);
  layout.rows = tensor.bytes / layout.rowBytes;
  layout.rowsPerChunk = std::max<uint64_t>(1, kChunkTargetValues / tensor.dims[0]);
  layout.chunks = (layout.rows + layout.rowsPerChunk - 1) / layout.rowsPerChunk;
  return layout;
}

void synthesizeChunk(const PlannedTensor &tensor, uint64_t seed, uint64_t chunk,
                     std::span<uint8_t> dst) {
  const ChunkLayout layout = chunkLayout(tensor);
  const uint64_t firstRow = chunk * layout.rowsPerChunk;
  const uint64_t rows = std::min(layout.rowsPerChunk, layout.rows - firstRow);
  if (chunk >= layout.chunks || dst.size() != rows * layout.rowBytes)
    fail("tensor '{}': chunk {} of {} given {} bytes", tensor.name, chunk, layout.chunks,
         dst.size());

  if (!tensor.values.empty()) {
    std::vector<float> row(tensor.values.begin() + firstRow * tensor.dims[0],
                           tensor.values.begin() + (firstRow + rows) * tensor.dims[0]);
    encodeRow(tensor.type, row, dst.data());
    return;
  }
  RandomStream random(streamSeed(seed, tensor.name, chunk));
  if (isSynthesizedKQuant(tensor.type)) {
    synthesizeKQuantBlocks(tensor.type, tensor.stddev, random, dst);
    return;
  }
  std::vector<float> row(tensor.dims[0]);
  for (uint64_t r = 0; r < rows; ++r) {
    sampleRow(tensor, random, row);
    encodeRow(tensor.type, row, dst.data() + r * layout.rowBytes);
  }
}

void synthesizeTensor(const PlannedTensor &tensor, uint64_t seed, unsigned threads,
                      std::span<uint8_t> dst) {
  if (dst.size() != tensor.bytes)
    fail("tensor '{}': destination of {} bytes, expected {}", tensor.name, dst.size(),
         tensor.bytes);
  const ChunkLayout layout = chunkLayout(tensor);
  const uint64_t chunkBytes = layout.rowsPerChunk * layout.rowBytes;
  parallelFor(layout.chunks, threads, [&](uint64_t chunk) {
    const uint64_t begin = chunk * chunkBytes;
    const uint64_t end = std::min<uint64_t>(begin + chunkBytes, dst.size());
    synthesizeChunk(tensor, seed, chunk, dst.subspan(begin, end - begin));
  });
}

} // namespace greta::synth
