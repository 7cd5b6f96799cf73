//===- weight_view.h - A bundle weight as rows the CPU kernels read --------===//
//
// The CPU backend reads weights in the `ggml` layout and in `f16_rows` (which stores F16 rows,
// the same bytes as ggml F16): N rows of K values, row r at r * rowBytes. Any other layout is a
// GPU repack the CPU cannot read, and is refused by name.
//
// Thread-safety: a view is immutable; the bytes belong to the Bundle, which must outlive it.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/formats/tensor_type.h"

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace greta::bundle {
class Bundle;
}

namespace greta::cpu {

struct WeightView {
  std::string name;
  TensorType type = TensorType::F32;
  uint64_t rowLength = 0; ///< K: dims[0]
  uint64_t rows = 0;      ///< N: the product of the other dims (1 for a vector)
  uint64_t rowBytes = 0;
  const uint8_t *data = nullptr;

  std::span<const uint8_t> row(uint64_t r) const { return {data + r * rowBytes, rowBytes}; }
};

/// The view of weight `name` of `bundle`. Throws greta::Error naming the weight and its layout
/// when the CPU backend cannot read the layout.
WeightView viewWeight(const bundle::Bundle &bundle, std::string_view name);

/// The weights each launch of a phase binds, by argument name: what the CPU program and the HIP
/// executor prepare per launch, and what the audits read back (the LM head's, the norm's).
using LaunchWeights = std::vector<std::map<std::string, WeightView>>;

/// The weight bound to argument `arg` of launch `launchIndex`, or nullopt when that launch has
/// no such argument (or there is no such launch).
std::optional<WeightView> findBoundWeight(const LaunchWeights &weights, size_t launchIndex,
                                          const std::string &arg);

/// All values of a small weight (norm scales, RoPE frequency divisors) as f32, decoded once when
/// a launch is prepared.
std::vector<float> dequantizeWeight(const WeightView &weight);

} // namespace greta::cpu
