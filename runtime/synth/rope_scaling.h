//===- rope_scaling.h - Llama-3.1 RoPE frequency factors -------------------===//
//
// Llama 3.1 and 3.2 stretch RoPE to long contexts by dividing each rotary frequency by a factor
// that depends on its wavelength: 1 for short wavelengths, `factor` for long ones, a smooth blend
// between. llama.cpp's converter stores the per-frequency factors as the F32 tensor
// `rope_freqs.weight` [head_dim / 2]; its RoPE divides frequency i by element i.
//
// Thread-safety: pure functions.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/synth/model_shape.h"

#include <vector>

namespace greta::synth {

/// The factor for each of the head_dim / 2 rotary frequencies (theta^(-2i/head_dim)) under the
/// shape's Llama-3 scaling parameters. Uses portable math, so the floats are the same everywhere.
std::vector<float> llama3RopeFactors(const ModelShape &shape);

} // namespace greta::synth
