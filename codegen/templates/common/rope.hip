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

/// Rotates pair i of each of `heads` heads of `row` in place (GGUF Llama order: adjacent
/// values).
__device__ __forceinline__ void rope_rotate_pair(float *row, int heads, int i, float cosine,
                                                 float sine) {
  for (int h = 0; h < heads; ++h) {
    float *pair = row + h * kHeadDim + 2 * i;
    const float x0 = pair[0];
    const float x1 = pair[1];
    pair[0] = x0 * cosine - x1 * sine;
    pair[1] = x0 * sine + x1 * cosine;
  }
}
