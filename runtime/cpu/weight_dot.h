//===- weight_dot.h - Dot products of weight rows with activation rows -----===//
//
// The CPU backend's one matrix routine: y[s][n] = Σ_k W[n][k] · x[s][k] for weight rows of any
// computable type (F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K), without dequantizing a whole
// weight. Weight rows are decoded one tile of kDotTile values at a time into a small buffer
// (a group of rows together, so each activation tile is loaded once per group) and dotted with
// every activation row in f32.
//
// The accumulation order of each output is fixed: per tile a 16-lane partial sum reduced
// pairwise, tiles added in order. It does not depend on the number of activation rows, on the
// row range a thread gets, or on grouping, so a decode step (1 row) and a prefill (S rows)
// produce bit-identical values for the same inputs, whatever the thread count.
//
// Thread-safety: reentrant; concurrent calls on disjoint outputs are safe.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/cpu/weight_view.h"

#include <cstddef>
#include <cstdint>

namespace greta::cpu {

/// Values decoded per step: one K-quant super-block, a whole number of every block type.
inline constexpr uint64_t kDotTile = 256;
/// Independent partial sums per tile: wide enough for two AVX-512 or four SSE registers.
inline constexpr size_t kDotLanes = 16;

/// Σ a[i] · b[i] over n values, in the fixed lane order described above.
float dotF32(const float *a, const float *b, uint64_t n);

/// Activation rows and where the results go.
struct DotRowsArgs {
  const float *x = nullptr; ///< rows of weight.rowLength values
  uint64_t xStride = 0;     ///< floats between activation rows
  uint64_t xRows = 0;       ///< S
  float *out = nullptr;     ///< out[s * outStride + (n - rowBegin)]
  uint64_t outStride = 0;
  /// When set, out = dot + addend[s * addendStride + (n - rowBegin)]; addend may alias out
  /// (each element is read before it is written).
  const float *addend = nullptr;
  uint64_t addendStride = 0;
};

/// Computes outputs for weight rows [rowBegin, rowEnd) and all activation rows.
void dotWeightRows(const WeightView &weight, uint64_t rowBegin, uint64_t rowEnd,
                   const DotRowsArgs &args);

} // namespace greta::cpu
