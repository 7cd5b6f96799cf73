//===- weight_dot.cpp - Dot products of weight rows with activation rows ---===//
#include "runtime/cpu/weight_dot.h"

#include "runtime/cpu/block_decode.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace greta::cpu {
namespace {

/// Weight rows decoded together: 8 tiles of 256 floats = 8 KB, well inside L1, and each
/// activation tile is reused 8 times before it leaves the cache.
constexpr uint64_t kRowGroup = 8;

} // namespace

float dotF32(const float *a, const float *b, uint64_t n) {
  float lanes[kDotLanes] = {};
  uint64_t i = 0;
  for (; i + kDotLanes <= n; i += kDotLanes)
    for (size_t j = 0; j < kDotLanes; ++j)
      lanes[j] += a[i + j] * b[i + j];
  for (size_t j = 0; i + j < n; ++j)
    lanes[j] += a[i + j] * b[i + j];
  for (size_t width = kDotLanes / 2; width > 0; width /= 2)
    for (size_t j = 0; j < width; ++j)
      lanes[j] += lanes[j + width];
  return lanes[0];
}

void dotWeightRows(const WeightView &weight, uint64_t rowBegin, uint64_t rowEnd,
                   const DotRowsArgs &args) {
  const uint64_t k = weight.rowLength;
  const uint64_t tiles = (k + kDotTile - 1) / kDotTile;
  const uint32_t blockElements = traitsOf(weight.type).blockElements;
  const uint64_t tileBytes =
      std::min(k, kDotTile) / blockElements * traitsOf(weight.type).blockBytes;
  const BlockDecoder decode = blockDecoder(weight.type);
  // Per thread: decoded tiles of one row group, and the running sums of the group's outputs.
  // Pointers are taken once: thread_local access is a call in position-independent code.
  thread_local std::vector<float> decodedStorage;
  thread_local std::vector<float> sumStorage;
  decodedStorage.resize(kRowGroup * kDotTile);
  sumStorage.resize(kRowGroup * args.xRows);
  float *decoded = decodedStorage.data();
  float *sums = sumStorage.data();

  for (uint64_t group = rowBegin; group < rowEnd; group += kRowGroup) {
    const uint64_t groupRows = std::min(kRowGroup, rowEnd - group);
    std::fill(sums, sums + groupRows * args.xRows, 0.0f);
    for (uint64_t t = 0; t < tiles; ++t) {
      const uint64_t first = t * kDotTile;
      // The last tile is shorter when K is not a multiple of the tile (Q8_0 rows of 32·m).
      const uint64_t count = std::min(kDotTile, k - first);
      const float *tile[kRowGroup];
      for (uint64_t g = 0; g < groupRows; ++g) {
        const uint8_t *src = weight.data + (group + g) * weight.rowBytes + t * tileBytes;
        if (weight.type == TensorType::F32) {
          tile[g] = reinterpret_cast<const float *>(src); // F32 rows are 4-byte aligned
          continue;
        }
        decode(src, decoded + g * kDotTile, count / blockElements);
        tile[g] = decoded + g * kDotTile;
      }
      for (uint64_t s = 0; s < args.xRows; ++s) {
        const float *x = args.x + s * args.xStride + first;
        for (uint64_t g = 0; g < groupRows; ++g)
          sums[g * args.xRows + s] += dotF32(tile[g], x, count);
      }
    }
    for (uint64_t s = 0; s < args.xRows; ++s)
      for (uint64_t g = 0; g < groupRows; ++g) {
        const uint64_t column = group + g - rowBegin;
        float value = sums[g * args.xRows + s];
        if (args.addend)
          value += args.addend[s * args.addendStride + column];
        args.out[s * args.outStride + column] = value;
      }
  }
}

} // namespace greta::cpu
