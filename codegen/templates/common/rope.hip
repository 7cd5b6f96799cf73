/// cos and sin of the rotation of pair i (values 2i, 2i+1 of each head) at `position`: angle
/// position · theta^(−2i/head_dim) / freqs[i], computed in double as the CPU backend does.
__device__ __forceinline__ void rope_rotation(const float *freqs, int i, int position,
                                              float &cosine, float &sine) {
  double frequency = pow(kTheta, -2.0 * static_cast<double>(i) / static_cast<double>(kHeadDim));
{{#HAS_FREQS}}
  frequency /= static_cast<double>(freqs[i]); // Llama-3.1 frequency scaling (rope_freqs)
{{/HAS_FREQS}}
  const double angle = static_cast<double>(position) * frequency;
  cosine = static_cast<float>(cos(angle));
  sine = static_cast<float>(sin(angle));
}

/// Fills rotation[i] = (cos, sin) of every pair i of a head at `position` (threads of the block
/// share the pairs) and waits for the whole table: a table per row is computed once and read
/// by every head's rotations.
__device__ __forceinline__ void rope_fill_rotations(const float *freqs, int position,
                                                   float2 *rotation) {
  for (int i = threadIdx.x; i < kHeadDim / 2; i += kBlock) {
    float cosine, sine;
    rope_rotation(freqs, i, position, cosine, sine);
    rotation[i] = make_float2(cosine, sine);
  }
  __syncthreads();
}

/// Rotates every pair of the `heads` heads at `row` in place (GGUF Llama order: adjacent
/// values), one pair per thread at a time over the whole block; `copy`, when not null, receives
/// the rotated heads too (a KV cache row of either element type: common/kv_cache.hip).
template <typename CopyValue>
__device__ __forceinline__ void rope_rotate_heads(float *row, int heads, const float2 *rotation,
                                                  CopyValue *copy) {
  float2 *pairs = reinterpret_cast<float2 *>(row);
  for (int e = threadIdx.x; e < heads * kHeadDim / 2; e += kBlock) {
    const float2 rot = rotation[e % (kHeadDim / 2)];
    const float2 x = pairs[e];
    const float2 y = make_float2(x.x * rot.x - x.y * rot.y, x.x * rot.y + x.y * rot.x);
    pairs[e] = y;
    if (copy != nullptr)
      kv_store2(copy + 2 * e, y);
  }
}
