//===- test_kernels.h - Small kernels that exercise the device prelude --------===//
//
// HIP C++ sources as the code generator will emit them (prelude first, GRETA_KERNEL entry
// points, the warp size only through the prelude), used by the compile tests here and by the
// GPU tests, which check their results against the CPU.
//
//===----------------------------------------------------------------------===//
#pragma once

namespace greta::hip::test {

/// out[i] = a[i] + b[i] for i < n; blocks of 256.
inline constexpr const char *kVectorAddSource = R"(#include "greta_prelude.h"

GRETA_KERNEL(256) greta_test_vector_add(const float *a, const float *b, float *out, greta::u32 n) {
  greta::u32 i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n)
    out[i] = a[i] + b[i];
}
)";

/// x[i] *= factor for i < n; blocks of 256. The second kernel of the graph test.
inline constexpr const char *kScaleSource = R"(#include "greta_prelude.h"

GRETA_KERNEL(256) greta_test_scale(float *x, float factor, greta::u32 n) {
  greta::u32 i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n)
    x[i] *= factor;
}
)";

/// One block of 256 per row of `cols` values: the row's sum and maximum through the prelude's
/// warp and block reductions, and the sum rounded to fp16 (proves the fp16 header is there).
inline constexpr const char *kRowReduceSource = R"(#include "greta_prelude.h"

constexpr int kThreads = 256;
constexpr float kLowest = -3.402823466e38f;

GRETA_KERNEL(kThreads) greta_test_row_reduce(const float *x, float *sums, float *maxes,
                                             __half *sums_f16, greta::u32 cols) {
  __shared__ float scratch[kThreads / greta::kWarpSize];
  const float *row = x + static_cast<greta::u64>(blockIdx.x) * cols;
  float sum = 0.0f;
  float best = kLowest;
  for (greta::u32 c = threadIdx.x; c < cols; c += kThreads) {
    sum += row[c];
    best = fmaxf(best, row[c]);
  }
  sum = greta::block_reduce_sum<kThreads>(sum, scratch);
  best = greta::block_reduce_max<kThreads>(best, scratch, kLowest);
  if (threadIdx.x == 0) {
    sums[blockIdx.x] = sum;
    maxes[blockIdx.x] = best;
    sums_f16[blockIdx.x] = __float2half(sum);
  }
}
)";

/// One warp: lane i holds x[i]; writes the warp sum from every lane (all must agree).
inline constexpr const char *kWarpSumSource = R"(#include "greta_prelude.h"

GRETA_KERNEL(greta::kWarpSize) greta_test_warp_sum(const float *x, float *out) {
  float total = greta::warp_reduce_sum(x[threadIdx.x]);
  out[threadIdx.x] = total;
}
)";

} // namespace greta::hip::test
