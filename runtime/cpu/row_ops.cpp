//===- row_ops.cpp - Per-row arithmetic shared by several CPU families -----===//
#include "runtime/cpu/row_ops.h"

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

void appendKvRows(const float *k, const float *v, const int32_t *positions, uint64_t rows,
                  uint64_t cols, float *kCache, float *vCache, uint64_t cacheRows,
                  const std::string &label) {
  for (uint64_t s = 0; s < rows; ++s) {
    const int32_t position = positions[s];
    if (position < 0 || static_cast<uint64_t>(position) >= cacheRows)
      fail("{}: position {} of row {} is outside the KV cache of {} rows (the context)", label,
           position, s, cacheRows);
    std::memcpy(kCache + position * cols, k + s * cols, cols * sizeof(float));
    std::memcpy(vCache + position * cols, v + s * cols, cols * sizeof(float));
  }
}

} // namespace greta::cpu
