#include "runtime/synth/rope_scaling.h"

#include "runtime/synth/portable_math.h"

namespace greta::synth {

std::vector<float> llama3RopeFactors(const ModelShape &shape) {
  const Llama3RopeScaling &p = shape.llama3;
  const uint32_t headDim = shape.headDim();
  const double context = p.originalContext;
  // Wavelengths (in positions) above which a frequency is fully scaled, below which untouched.
  const double lowFreqWavelength = context / p.lowFreqFactor;
  const double highFreqWavelength = context / p.highFreqFactor;

  std::vector<float> factors;
  factors.reserve(headDim / 2);
  for (uint32_t i = 0; i < headDim / 2; ++i) {
    const double frequency =
        1.0 / portablePow(shape.ropeTheta, static_cast<double>(2 * i) / headDim);
    const double wavelength = 2.0 * kPi / frequency;
    double factor;
    if (wavelength < highFreqWavelength) {
      factor = 1.0;
    } else if (wavelength > lowFreqWavelength) {
      factor = p.factor;
    } else {
      // Blend linearly in 1/wavelength between the two regimes.
      const double smooth =
          (context / wavelength - p.lowFreqFactor) / (p.highFreqFactor - p.lowFreqFactor);
      factor = 1.0 / ((1.0 - smooth) / p.factor + smooth);
    }
    factors.push_back(static_cast<float>(factor));
  }
  return factors;
}

} // namespace greta::synth
