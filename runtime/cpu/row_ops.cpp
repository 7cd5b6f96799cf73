//===- row_ops.cpp - Per-row arithmetic shared by several CPU families -----===//
#include "runtime/cpu/row_ops.h"

#include "runtime/cpu/block_decode.h"
#include "runtime/cpu/cpu_kernel.h"
#include "runtime/formats/quant.h"
#include "runtime/support/error.h"

#include <cstring>

namespace greta::cpu {

void rmsNormRow(const float *x, const float *weight, float eps, uint64_t n, float *out) {
  double sumSquares = 0.0;
  for (uint64_t i = 0; i < n; ++i)
    sumSquares += static_cast<double>(x[i]) * x[i];
  const float mean = static_cast<float>(sumSquares / static_cast<double>(n));
  const float scale = 1.0f / std::sqrt(mean + eps);
  for (uint64_t i = 0; i < n; ++i)
    out[i] = x[i] * scale * weight[i];
}

RopeTable::RopeTable(uint64_t headDim, double theta, std::span<const float> divisors)
    : headDim_(headDim), frequencies_(headDim / 2) {
  for (uint64_t i = 0; i < frequencies_.size(); ++i) {
    double frequency =
        std::pow(theta, -2.0 * static_cast<double>(i) / static_cast<double>(headDim));
    if (!divisors.empty())
      frequency /= divisors[i];
    frequencies_[i] = frequency;
  }
}

void RopeTable::rotate(float *row, uint64_t heads, int32_t position) const {
  for (uint64_t i = 0; i < frequencies_.size(); ++i) {
    const double angle = static_cast<double>(position) * frequencies_[i];
    const float c = static_cast<float>(std::cos(angle));
    const float s = static_cast<float>(std::sin(angle));
    for (uint64_t h = 0; h < heads; ++h) {
      float *pair = row + h * headDim_ + 2 * i;
      const float x0 = pair[0];
      const float x1 = pair[1];
      pair[0] = x0 * c - x1 * s;
      pair[1] = x0 * s + x1 * c;
    }
  }
}

namespace {

/// Stores `values` (the cache's cols) as row `row` of a KV cache, in its dtype.
void storeKvRow(const float *values, CpuBuffer &cache, uint64_t row) {
  const uint64_t cols = cache.cols();
  if (cache.spec().dtype == bundle::BufferDType::F16) {
    uint16_t *out = cache.f16() + row * cols;
    for (uint64_t i = 0; i < cols; ++i)
      out[i] = floatToHalf(values[i]);
    return;
  }
  std::memcpy(cache.f32() + row * cols, values, cols * sizeof(float));
}

} // namespace

void appendKvRows(const float *k, const float *v, const int32_t *positions, uint64_t rows,
                  CpuBuffer &kCache, CpuBuffer &vCache, const std::string &label) {
  const uint64_t cols = kCache.cols();
  const uint64_t cacheRows = kCache.rowsAllocated();
  for (uint64_t s = 0; s < rows; ++s) {
    const int32_t position = positions[s];
    if (position < 0 || static_cast<uint64_t>(position) >= cacheRows)
      fail("{}: position {} of row {} is outside the KV cache of {} rows (the context)", label,
           position, s, cacheRows);
    storeKvRow(k + s * cols, kCache, static_cast<uint64_t>(position));
    storeKvRow(v + s * cols, vCache, static_cast<uint64_t>(position));
  }
}

const float *readKvRow(CpuBuffer &cache, uint64_t row, uint64_t offset, uint64_t n,
                       float *scratch) {
  const uint64_t first = row * cache.cols() + offset;
  if (cache.spec().dtype != bundle::BufferDType::F16)
    return cache.f32() + first;
  // binary16 blocks are single values: the table decoder widens n of them.
  static const BlockDecoder widen = blockDecoder(TensorType::F16);
  widen(reinterpret_cast<const uint8_t *>(cache.f16() + first), scratch, n);
  return scratch;
}

} // namespace greta::cpu
