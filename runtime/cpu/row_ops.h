//===- row_ops.h - Per-row arithmetic shared by several CPU families -------===//
//
// Fused and unfused families must compute the same values: rms_norm, add_rms_norm and the
// matmul prologue share rmsNormRow; silu_mul and matmul_gate_up share silu; rope and
// rope_kv_append share RopeTable; kv_append, rope_kv_append and matmul_qkv share appendKvRows
// (attention reads what it stores through readKvRow). Fused plans then give bit-identical
// results to unfused ones.
//
// Thread-safety: pure functions; a RopeTable is immutable after construction.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace greta::cpu {

class CpuBuffer;

/// out[i] = x[i] / sqrt(mean(x²) + eps) * weight[i] over `n` values. The sum of squares is
/// accumulated in double (as ggml does); out may alias x.
void rmsNormRow(const float *x, const float *weight, float eps, uint64_t n, float *out);

/// x · sigmoid(x).
inline float silu(float x) { return x / (1.0f + std::exp(-x)); }

/// RoPE angles of one launch: frequency i of a head of `headDim` values is
/// theta^(−2i/headDim) / divisors[i] (no divisor when `divisors` is empty), computed in double.
class RopeTable {
public:
  RopeTable(uint64_t headDim, double theta, std::span<const float> divisors);
  /// Rotates the adjacent pairs (2i, 2i+1) of each of `heads` heads in `row` by pos·frequency i.
  void rotate(float *row, uint64_t heads, int32_t position) const;

private:
  uint64_t headDim_;
  std::vector<double> frequencies_;
};

/// Stores row s of `k` and `v` (`rows` rows of the caches' cols) in row positions[s] of the KV
/// caches, in their dtype: f32 as is, f16 rounded to the nearest binary16 (ties to even, as the
/// GPU's __float2half_rn). Throws greta::Error naming `label` for a position outside the caches.
void appendKvRows(const float *k, const float *v, const int32_t *positions, uint64_t rows,
                  CpuBuffer &kCache, CpuBuffer &vCache, const std::string &label);

/// Values [offset, offset + n) of row `row` of a KV cache as f32: a pointer into an f32 cache, or
/// an f16 cache's values widened (exactly) into `scratch`, which holds n values.
const float *readKvRow(CpuBuffer &cache, uint64_t row, uint64_t offset, uint64_t n,
                       float *scratch);

} // namespace greta::cpu
