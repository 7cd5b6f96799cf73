//===- kernel_work.cpp - What one launch reads and computes -----------------===//
#include "runtime/engine/kernel_work.h"

#include "runtime/bundle/bundle.h"
#include "runtime/bundle/kernel_families.h"
#include "runtime/bundle/manifest_validator.h"
#include "runtime/support/error.h"

#include <algorithm>

namespace greta::engine {
namespace {

/// Rows of the launch's row argument (its S) in a run of `seq` tokens.
uint64_t launchRows(const bundle::Manifest &manifest, const bundle::Launch &launch,
                    const bundle::FamilySpec &family, uint64_t seq) {
  auto arg = launch.args.find(std::string(family.rowsArg));
  const bundle::BufferSpec *buffer =
      arg == launch.args.end() ? nullptr : manifest.findBuffer(arg->second);
  if (!buffer)
    return seq;
  switch (buffer->rows.kind) {
  case bundle::RowExtent::Kind::Seq:
    return seq;
  case bundle::RowExtent::Kind::Fixed:
    return buffer->rows.count;
  case bundle::RowExtent::Kind::Last:
  case bundle::RowExtent::Kind::Context:
    return 1;
  }
  return seq;
}

double asDouble(int64_t value) { return static_cast<double>(value); }

} // namespace

LaunchWork launchWork(const bundle::Bundle &bundle, const bundle::Launch &launch, uint64_t seq,
                      std::span<const int32_t> positions) {
  const bundle::Manifest &manifest = bundle.manifest();
  const bundle::KernelSpec *kernel = manifest.findKernel(launch.kernel);
  if (!kernel)
    fail("{}: launch of unknown kernel '{}'", bundle.dir(), launch.kernel);
  const bundle::FamilySpec *family = bundle::findFamily(kernel->family);
  if (!family)
    fail("{}: kernel '{}' has unknown family '{}'", bundle.dir(), kernel->name, kernel->family);
  const uint64_t rows = launchRows(manifest, launch, *family, seq);
  const std::string &name = kernel->family;

  LaunchWork work;
  for (const auto &[arg, value] : launch.args) {
    const auto weight = bundle::weightRefName(value);
    if (!weight)
      continue;
    const uint64_t bytes = bundle.weightBytes(*weight).size();
    if (name == "embedding") {
      const bundle::WeightEntry &entry = bundle.weight(*weight);
      const uint64_t tableRows = entry.dims.size() > 1 && entry.dims[1] > 0 ? entry.dims[1] : 1;
      work.weightBytes += rows * (bytes / tableRows);
    } else {
      work.weightBytes += bytes;
    }
  }

  if (name == "matmul" || name == "matmul_gate_up" || name == "lm_head") {
    const double k = asDouble(bundle::dimParam(*kernel, "k"));
    const double n = asDouble(bundle::dimParam(*kernel, "n"));
    const double m = name == "lm_head" ? 1.0 : static_cast<double>(rows);
    work.flops = 2.0 * m * n * k * (name == "matmul_gate_up" ? 2.0 : 1.0);
  } else if (name == "matmul_qkv") {
    const double k = asDouble(bundle::dimParam(*kernel, "k"));
    const double n = (asDouble(bundle::dimParam(*kernel, "heads")) +
                      2.0 * asDouble(bundle::dimParam(*kernel, "kv_heads"))) *
                     asDouble(bundle::dimParam(*kernel, "head_dim"));
    work.flops = 2.0 * static_cast<double>(rows) * n * k;
  } else if (name == "attention") {
    const double perKey = 4.0 * asDouble(bundle::dimParam(*kernel, "heads")) *
                          asDouble(bundle::dimParam(*kernel, "head_dim"));
    // The launch's rows are the last `rows` of the run; each sees keys 0..position.
    positions = positions.first(std::min<size_t>(positions.size(), seq));
    const size_t count = std::min<size_t>(rows, positions.size());
    double keys = 0;
    for (int32_t position : positions.subspan(positions.size() - count))
      keys += static_cast<double>(position) + 1.0;
    work.flops = perKey * keys;
  }
  return work;
}

LaunchWork phaseWork(const bundle::Bundle &bundle, const bundle::PhasePlan &plan, uint64_t seq,
                     std::span<const int32_t> positions) {
  LaunchWork total;
  for (const bundle::Launch &launch : plan.launches)
    total += launchWork(bundle, launch, seq, positions);
  return total;
}

} // namespace greta::engine
