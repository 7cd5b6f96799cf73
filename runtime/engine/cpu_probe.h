//===- cpu_probe.h - Recompute final RMSNorm and LM head on the CPU --------===//
//
// The audit's independent check (ARCHITECTURE.md "Audit recorder"): from the pre-norm hidden
// state the backend produced (last row), the probe recomputes the final RMSNorm and the LM head
// with the ORIGINAL weights — the bundle's `ggml`-layout bytes, or the source GGUF's tensor when
// the bundle stores a repack or an f16 copy — decoded with runtime/formats/quant.h
// (dequantizeRow) and accumulated in double. It shares no code with the backend's kernels
// (block_decode, weight_dot, rmsNormRow), so a wrong kernel, repack or scale shows as a
// disagreement.
//
// Agreement rules (relative to the CPU values' scale, so they hold for any model size):
//   LM head:  top-1 ids equal (or the backend's top-1 within tolerance of the probe's maximum:
//             a near-tie) and max |probe − backend| ≤ kProbeTolerance · max(1, max |probe|)
//   RMSNorm:  max |cpu − backend| ≤ kRmsVerifyTolerance · max(1, max |cpu|)
//
// Thread-safety: const methods may run concurrently; each call splits its rows over `threads`.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/bundle/bundle.h"
#include "runtime/cpu/weight_view.h"
#include "runtime/formats/gguf.h"

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace greta::cpu {
class ThreadPool;
}

namespace greta::engine {

/// Relative tolerance of LM-head agreement: a GPU route with f16 weights or bf16 inputs stays
/// well inside 1 %; a wrong scale, layout or route moves logits by their own magnitude.
inline constexpr double kProbeTolerance = 1e-2;
/// Relative tolerance of the RMSNorm check: f32 on every backend, so 1e-3 leaves room for any
/// reduction order.
inline constexpr double kRmsVerifyTolerance = 1e-3;

/// Where the probe's original weights come from: a `ggml`-layout weight of the bundle; else the
/// source GGUF (BundleOpenOptions::weightsPath, or the manifest's source.path, checked against
/// its header hash); else, with no GGUF at hand, the bundle's own f16_rows copy.
struct ProbeWeightSource {
  std::string ggufPath; ///< "" : the manifest's source.path
};

/// max(1, max |v|): the scale relative tolerances are taken of.
double magnitudeOf(std::span<const float> values);
/// max |a − b| over equal-length spans (NaN anywhere gives NaN).
double maxAbsDiff(std::span<const float> a, std::span<const float> b);
/// Index of the largest value, ties to the lower index.
int32_t argmaxOf(std::span<const float> values);

/// The comparison of backend logits with the probe's.
struct ProbeResult {
  int32_t top1Id = -1;      ///< the probe's top-1
  float top1Logit = 0;
  double maxAbsDiff = 0;    ///< vs the backend's logits
  bool agrees = false;
  std::vector<float> logits; ///< the probe's logits
};

/// The comparison of a backend's RMSNorm output with the CPU's.
struct RmsVerifyResult {
  double maxAbsDiff = 0;
  bool ok = false;
};

class CpuProbe {
public:
  /// The probe of `plan` (a phase the session runs): the final RMSNorm launch is the one its
  /// final_rmsnorm audit point names (family rms_norm or add_rms_norm: weight, eps), the LM head
  /// the one its lm_head point names (weight). Throws greta::Error naming the bundle when either
  /// point is missing or the original weights cannot be read.
  CpuProbe(const bundle::Bundle &bundle, const bundle::PhasePlan &plan,
           const ProbeWeightSource &source, unsigned threads);
  ~CpuProbe();

  /// x / sqrt(mean(x²) + eps) · w in double, rounded to f32.
  std::vector<float> normalize(std::span<const float> hidden) const;
  /// Logits of a normalised row.
  std::vector<float> logits(std::span<const float> normalized) const;

  /// Recomputes from `hidden` and compares with `backendLogits` (top-1 `backendTop1`).
  ProbeResult probe(std::span<const float> hidden, std::span<const float> backendLogits,
                    int32_t backendTop1) const;
  /// Recomputes the norm of `hidden` and compares with the backend's `normalized`.
  RmsVerifyResult verifyRms(std::span<const float> hidden,
                            std::span<const float> backendNormalized) const;

  /// "bundle" (ggml bytes in the bundle), "gguf" (the source file) or "bundle:f16_rows".
  const std::string &lmHeadSource() const { return lmHeadSource_; }

private:
  cpu::WeightView original(const std::string &name, const ProbeWeightSource &source,
                           std::string &label);

  const bundle::Bundle &bundle_;
  std::optional<GgufFile> gguf_;
  std::vector<float> normWeight_;
  double eps_ = 0;
  cpu::WeightView lmHead_;
  std::string lmHeadSource_;
  std::unique_ptr<cpu::ThreadPool> pool_;
};

/// Top-1 agreement with a tolerance: equal ids, or `top1` scores within `tolerance` of the
/// maximum of `reference`.
bool top1Agrees(std::span<const float> reference, int32_t top1, double tolerance);

} // namespace greta::engine
