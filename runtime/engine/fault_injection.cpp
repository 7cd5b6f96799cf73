//===- fault_injection.cpp - Corrupt one route on purpose (TESTS ONLY) -----===//
#include "runtime/engine/fault_injection.h"

#include "runtime/engine/weight_scales.h"
#include "runtime/formats/quant.h"
#include "runtime/support/error.h"

#include <array>
#include <utility>
#include <cstring>

namespace greta::engine {
namespace {

constexpr std::array<std::pair<Fault, std::string_view>, 3> kFaultNames = {{
    {Fault::LmHeadPrefillScales, "lm_head.prefill.scales"},
    {Fault::LmHeadPrefillLayout, "lm_head.prefill.layout"},
    {Fault::RmsNormWeights, "rms_norm.weights"},
}};

/// d multipliers of the scales fault for Q8_0/Q4_0 blocks, by (row + block) mod 4: a sign flip
/// and a 16x spread.
constexpr std::array<float, 4> kScaleFaultFactors = {1.0f, -1.0f, 4.0f, 0.25f};
/// Q4_K/Q5_K: the 12 packed bytes of sub-block scales and mins start after d and dmin.
constexpr uint32_t kKQuantPackedScalesOffset = 4;
/// Q6_K: the 16 int8 sub-block scales start after ql and qh.
constexpr uint32_t kQ6KScalesOffset = 192;
constexpr uint32_t kQ6KSubBlocks = 16;

/// Corrupts one block's scales as a wrong unpacking would (see fault_injection.h).
void corruptBlockScales(TensorType type, uint8_t *block, uint64_t row, uint64_t index) {
  switch (type) {
  case TensorType::Q6_K:
    for (uint32_t j = 1; j < kQ6KSubBlocks; j += 2) {
      auto *scale = reinterpret_cast<int8_t *>(block + kQ6KScalesOffset + j);
      *scale = static_cast<int8_t>(*scale == -128 ? 127 : -*scale);
    }
    return;
  case TensorType::Q4_K:
  case TensorType::Q5_K:
    for (uint32_t j = 0; j < 4; ++j)
      std::swap(block[kKQuantPackedScalesOffset + j], block[kKQuantPackedScalesOffset + 4 + j]);
    return;
  default: { // Q8_0, Q4_0: d leads the block
    uint16_t half;
    std::memcpy(&half, block, sizeof half);
    const float factor = kScaleFaultFactors[(row + index) % kScaleFaultFactors.size()];
    half = floatToHalf(halfToFloat(half) * factor);
    std::memcpy(block, &half, sizeof half);
  }
  }
}

void corruptScales(const cpu::WeightView &weight, std::vector<uint8_t> &bytes) {
  if (!scaleFieldsOf(weight.type))
    fail("--inject-fault lm_head.prefill.scales: the LM head weight '{}' is {}, which has no block "
         "scales; use lm_head.prefill.layout",
         weight.name, nameOf(weight.type));
  const uint32_t blockBytes = traitsOf(weight.type).blockBytes;
  for (uint64_t r = 0; r < weight.rows; ++r)
    for (uint64_t b = 0; b * blockBytes < weight.rowBytes; ++b)
      corruptBlockScales(weight.type, bytes.data() + r * weight.rowBytes + b * blockBytes, r, b);
}

void permuteRows(const cpu::WeightView &weight, std::vector<uint8_t> &bytes) {
  for (uint64_t tile = 0; tile < weight.rows; tile += kLayoutFaultTile) {
    const uint64_t rows = std::min(kLayoutFaultTile, weight.rows - tile);
    for (uint64_t i = 0; i < rows; ++i)
      std::memcpy(bytes.data() + (tile + i) * weight.rowBytes,
                  weight.data + (tile + rows - 1 - i) * weight.rowBytes, weight.rowBytes);
  }
}

void corruptNormWeight(const cpu::WeightView &weight, std::vector<uint8_t> &bytes) {
  if (weight.type != TensorType::F32)
    fail("--inject-fault rms_norm.weights: the final norm weight '{}' is {}, expected F32",
         weight.name, nameOf(weight.type));
  for (uint64_t i = 0; i < weight.rows * weight.rowLength; ++i) {
    float value;
    std::memcpy(&value, bytes.data() + i * sizeof value, sizeof value);
    value *= i % 2 ? -2.0f : 3.0f;
    std::memcpy(bytes.data() + i * sizeof value, &value, sizeof value);
  }
}

} // namespace

std::string_view nameOf(Fault fault) {
  for (const auto &[f, name] : kFaultNames)
    if (f == fault)
      return name;
  return "unknown";
}

std::optional<Fault> parseFault(std::string_view name) {
  for (const auto &[f, text] : kFaultNames)
    if (text == name)
      return f;
  return std::nullopt;
}

std::string faultNames() {
  std::string names;
  for (const auto &[f, name] : kFaultNames)
    names += (names.empty() ? "" : "|") + std::string(name);
  return names;
}

FaultInjector::FaultInjector(const bundle::Bundle &bundle, Fault fault,
                             const bundle::PhasePlan &prefill, const bundle::PhasePlan &decode)
    : bundle_(bundle), fault_(fault) {
  if (fault == Fault::RmsNormWeights) {
    addTarget(prefill, bundle::PhaseKind::Prefill, bundle::kFinalRmsNormPoint);
    addTarget(decode, bundle::PhaseKind::Decode, bundle::kFinalRmsNormPoint);
  } else if (bundle::routesOf(bundle.manifest(), prefill.launches, "lm_head") ==
             bundle::routesOf(bundle.manifest(), bundle.manifest().prefill.launches, "lm_head")) {
    addTarget(prefill, bundle::PhaseKind::Prefill, bundle::kLmHeadPoint);
  } // else --force-route moved the prefill LM head off the route the fault lives in
}

void FaultInjector::addTarget(const bundle::PhasePlan &plan, bundle::PhaseKind phase,
                              std::string_view point) {
  const bundle::AuditPoint *audit = bundle::findAuditPoint(plan, point);
  if (!audit)
    fail("{}: --inject-fault {}: phase {} has no '{}' audit point to find the launch by "
         "(compiled with --audit=none?)",
         bundle_.dir(), nameOf(fault_), nameOf(phase), point);
  const bundle::Launch &launch = plan.launches.at(audit->launchIndex);
  auto weightArg = launch.args.find("weight");
  auto name = weightArg == launch.args.end() ? std::nullopt
                                             : bundle::weightRefName(weightArg->second);
  if (!name)
    fail("{}: --inject-fault {}: launch {} of phase {} (kernel '{}') reads no `weight`",
         bundle_.dir(), nameOf(fault_), audit->launchIndex, nameOf(phase), launch.kernel);
  const cpu::WeightView original = cpu::viewWeight(bundle_, *name);
  auto bytes = std::make_unique<std::vector<uint8_t>>(original.data,
                                                      original.data + original.rows * original.rowBytes);
  switch (fault_) {
  case Fault::LmHeadPrefillScales:
    corruptScales(original, *bytes);
    break;
  case Fault::LmHeadPrefillLayout:
    permuteRows(original, *bytes);
    break;
  case Fault::RmsNormWeights:
    corruptNormWeight(original, *bytes);
    break;
  }
  cpu::WeightView view = original;
  view.data = bytes->data();
  storage_.push_back(std::move(bytes));
  targets_.push_back({phase, audit->launchIndex, "weight", view});
}

cpu::WeightSubstitute FaultInjector::substitute() const {
  return [this](bundle::PhaseKind phase, size_t launchIndex, const std::string &arg,
                const cpu::WeightView &) -> std::optional<cpu::WeightView> {
    for (const Target &target : targets_)
      if (target.phase == phase && target.launchIndex == launchIndex && target.arg == arg)
        return target.view;
    return std::nullopt;
  };
}

} // namespace greta::engine
