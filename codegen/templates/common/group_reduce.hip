/// Sum over consecutive groups of kGroup threads (a power of two; groups of a warp or less
/// reduce with shuffles, larger groups through `scratch`, __shared__ float[kBlock / kWarpSize]).
/// Every thread of the block calls it and every thread gets its group's total. The order of
/// the additions is fixed, so results do not vary from run to run.
template <int kGroup>
__device__ __forceinline__ float group_reduce_sum(float value, float *scratch) {
  static_assert((kGroup & (kGroup - 1)) == 0, "groups are a power of two threads");
  if constexpr (kGroup <= kWarpSize) {
#pragma unroll
    for (int offset = kGroup / 2; offset > 0; offset /= 2)
      value += shfl_xor(value, offset);
    return value;
  } else {
    constexpr int kWarpsPerGroup = kGroup / kWarpSize;
    value = warp_reduce_sum(value);
    __syncthreads(); // a previous call may still be reading scratch
    if (lane_id() == 0)
      scratch[warp_id()] = value;
    __syncthreads();
    const int first = warp_id() / kWarpsPerGroup * kWarpsPerGroup;
    float total = 0.0f;
#pragma unroll
    for (int w = 0; w < kWarpsPerGroup; ++w)
      total += scratch[first + w];
    return total;
  }
}
