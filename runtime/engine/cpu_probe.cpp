//===- cpu_probe.cpp - Recompute final RMSNorm and LM head on the CPU ------===//
#include "runtime/engine/cpu_probe.h"

#include "runtime/bundle/manifest_validator.h"
#include "runtime/bundle/source_identity.h"
#include "runtime/cpu/thread_pool.h"
#include "runtime/formats/quant.h"
#include "runtime/support/error.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>

namespace greta::engine {
namespace {

/// Vocabulary rows per thread chunk: enough to amortise the pool hand-off.
constexpr uint64_t kMinRowsPerChunk = 256;

const bundle::AuditPoint &requirePoint(const bundle::Bundle &bundle, const bundle::PhasePlan &plan,
                                       std::string_view point) {
  const bundle::AuditPoint *found = bundle::findAuditPoint(plan, point);
  if (!found)
    fail("{}: the CPU probe needs the '{}' audit point, which the plan lacks (compiled with "
         "--audit=none?)",
         bundle.dir(), point);
  return *found;
}

std::string weightArg(const bundle::Bundle &bundle, const bundle::Launch &launch,
                      std::string_view point) {
  auto it = launch.args.find("weight");
  auto name = it == launch.args.end() ? std::nullopt : bundle::weightRefName(it->second);
  if (!name)
    fail("{}: the launch of audit point '{}' (kernel '{}') reads no `weight`", bundle.dir(), point,
         launch.kernel);
  return std::string(*name);
}

} // namespace

double magnitudeOf(std::span<const float> values) {
  double largest = 1.0;
  for (float v : values)
    largest = std::max(largest, static_cast<double>(std::fabs(v)));
  return largest;
}

double maxAbsDiff(std::span<const float> a, std::span<const float> b) {
  if (a.size() != b.size())
    return std::numeric_limits<double>::infinity();
  double largest = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double diff = std::fabs(static_cast<double>(a[i]) - b[i]);
    if (std::isnan(diff))
      return diff;
    largest = std::max(largest, diff);
  }
  return largest;
}

int32_t argmaxOf(std::span<const float> values) {
  int32_t best = values.empty() ? -1 : 0;
  for (size_t i = 1; i < values.size(); ++i)
    if (values[i] > values[best])
      best = static_cast<int32_t>(i);
  return best;
}

bool top1Agrees(std::span<const float> reference, int32_t top1, double tolerance) {
  const int32_t best = argmaxOf(reference);
  if (best == top1)
    return true;
  if (top1 < 0 || static_cast<size_t>(top1) >= reference.size())
    return false;
  return reference[best] - reference[top1] <= tolerance;
}

CpuProbe::CpuProbe(const bundle::Bundle &bundle, const bundle::PhasePlan &plan,
                   const ProbeWeightSource &source, unsigned threads)
    : bundle_(bundle), pool_(std::make_unique<cpu::ThreadPool>(threads)) {
  const bundle::Manifest &m = bundle.manifest();
  const bundle::AuditPoint &norm = requirePoint(bundle, plan, bundle::kFinalRmsNormPoint);
  const bundle::Launch &normLaunch = plan.launches.at(norm.launchIndex);
  const bundle::KernelSpec &normKernel = *m.findKernel(normLaunch.kernel);
  if (normKernel.family != "rms_norm" && normKernel.family != "add_rms_norm")
    fail("{}: audit point '{}' names launch {} of family {}; the CPU probe expects rms_norm or "
         "add_rms_norm",
         bundle.dir(), norm.point, norm.launchIndex, normKernel.family);
  eps_ = bundle::numberParam(normKernel, "eps");
  std::string ignored;
  normWeight_ = cpu::dequantizeWeight(
      original(weightArg(bundle, normLaunch, norm.point), source, ignored));

  const bundle::AuditPoint &head = requirePoint(bundle, plan, bundle::kLmHeadPoint);
  lmHead_ = original(weightArg(bundle, plan.launches.at(head.launchIndex), head.point), source,
                     lmHeadSource_);
  if (lmHead_.rowLength != normWeight_.size())
    fail("{}: the LM head weight '{}' has rows of {} values, the final norm weight {}",
         bundle.dir(), lmHead_.name, lmHead_.rowLength, normWeight_.size());
}

CpuProbe::~CpuProbe() = default;

cpu::WeightView CpuProbe::original(const std::string &name, const ProbeWeightSource &source,
                                   std::string &label) {
  const bundle::WeightEntry &entry = bundle_.weight(name);
  if (entry.layout == bundle::kLayoutGgml) {
    label = "bundle";
    return cpu::viewWeight(bundle_, name);
  }
  const bundle::Manifest &m = bundle_.manifest();
  const std::string path = !source.ggufPath.empty()                   ? source.ggufPath
                           : m.weights.mode == bundle::WeightMode::External ? m.weights.file
                                                                           : m.source.path;
  if (!gguf_ && std::filesystem::exists(path)) {
    gguf_.emplace(GgufFile::open(path));
    bundle::requireSameSource(*gguf_, m.source, bundle_.dir());
  }
  if (gguf_) {
    const GgufTensorInfo *tensor = nullptr;
    for (const GgufTensorInfo &t : gguf_->tensors())
      if (t.name == name)
        tensor = &t;
    if (!tensor)
      fail("{}: the CPU probe looks for the original of weight '{}' in {}, which has no such "
           "tensor",
           bundle_.dir(), name, path);
    cpu::WeightView view;
    view.name = name;
    view.type = tensor->type;
    view.rowLength = tensor->dims.at(0);
    view.rows = tensor->rows();
    view.rowBytes = rowBytes(tensor->type, view.rowLength, name);
    view.data = tensor->data.data();
    label = "gguf";
    return view;
  }
  // No source file here: the bundle's f16 copy is still read by code of the probe's own.
  label = fmt::format("bundle:{}", entry.layout);
  return cpu::viewWeight(bundle_, name);
}

std::vector<float> CpuProbe::normalize(std::span<const float> hidden) const {
  if (hidden.size() != normWeight_.size())
    fail("{}: the CPU probe got a hidden row of {} values; the norm has {}", bundle_.dir(),
         hidden.size(), normWeight_.size());
  double sumSquares = 0;
  for (float v : hidden)
    sumSquares += static_cast<double>(v) * v;
  const double scale = 1.0 / std::sqrt(sumSquares / static_cast<double>(hidden.size()) + eps_);
  std::vector<float> out(hidden.size());
  for (size_t i = 0; i < hidden.size(); ++i)
    out[i] = static_cast<float>(static_cast<double>(hidden[i]) * scale * normWeight_[i]);
  return out;
}

std::vector<float> CpuProbe::logits(std::span<const float> normalized) const {
  std::vector<float> out(lmHead_.rows);
  pool_->parallelFor(lmHead_.rows, kMinRowsPerChunk, [&](uint64_t begin, uint64_t end) {
    std::vector<float> row(lmHead_.rowLength);
    for (uint64_t r = begin; r < end; ++r) {
      dequantizeRow(lmHead_.type, lmHead_.row(r), row);
      double sum = 0;
      for (uint64_t k = 0; k < row.size(); ++k)
        sum += static_cast<double>(row[k]) * normalized[k];
      out[r] = static_cast<float>(sum);
    }
  });
  return out;
}

ProbeResult CpuProbe::probe(std::span<const float> hidden, std::span<const float> backendLogits,
                            int32_t backendTop1) const {
  ProbeResult result;
  result.logits = logits(normalize(hidden));
  result.top1Id = argmaxOf(result.logits);
  result.top1Logit = result.top1Id >= 0 ? result.logits[result.top1Id] : 0.0f;
  result.maxAbsDiff = maxAbsDiff(result.logits, backendLogits);
  const double tolerance = kProbeTolerance * magnitudeOf(result.logits);
  result.agrees = top1Agrees(result.logits, backendTop1, tolerance) &&
                  result.maxAbsDiff <= tolerance;
  return result;
}

RmsVerifyResult CpuProbe::verifyRms(std::span<const float> hidden,
                                    std::span<const float> backendNormalized) const {
  const std::vector<float> reference = normalize(hidden);
  RmsVerifyResult result;
  result.maxAbsDiff = maxAbsDiff(reference, backendNormalized);
  result.ok = result.maxAbsDiff <= kRmsVerifyTolerance * magnitudeOf(reference);
  return result;
}

} // namespace greta::engine
