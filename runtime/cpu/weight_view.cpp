//===- weight_view.cpp - A bundle weight as rows the CPU kernels read ------===//
#include "runtime/cpu/weight_view.h"

#include "runtime/bundle/bundle.h"
#include "runtime/formats/quant.h"
#include "runtime/support/checked_math.h"
#include "runtime/support/error.h"

namespace greta::cpu {

WeightView viewWeight(const bundle::Bundle &bundle, std::string_view name) {
  const bundle::WeightEntry &entry = bundle.weight(name);
  if (entry.layout != bundle::kLayoutGgml && entry.layout != bundle::kLayoutF16Rows)
    fail("{}: weight '{}' is stored in layout '{}', which the CPU backend cannot read (it reads "
         "{} and {}); compile the bundle with a CPU target",
         bundle.dir(), entry.name, entry.layout, bundle::kLayoutGgml, bundle::kLayoutF16Rows);
  WeightView view;
  view.name = entry.name;
  view.type = entry.type;
  view.rowLength = entry.dims.at(0);
  view.rows = 1;
  for (size_t i = 1; i < entry.dims.size(); ++i)
    view.rows = checkedMul(view.rows, entry.dims[i], entry.name);
  view.rowBytes = rowBytes(entry.type, view.rowLength, entry.name);
  const std::span<const uint8_t> bytes = bundle.weightBytes(name);
  if (checkedMul(view.rowBytes, view.rows, entry.name) != bytes.size())
    fail("{}: weight '{}': {} rows of {} bytes do not fill its {} bytes", bundle.dir(), entry.name,
         view.rows, view.rowBytes, bytes.size());
  view.data = bytes.data();
  return view;
}

std::vector<float> dequantizeWeight(const WeightView &weight) {
  std::vector<float> values(checkedMul(weight.rows, weight.rowLength, weight.name));
  for (uint64_t r = 0; r < weight.rows; ++r)
    dequantizeRow(weight.type, weight.row(r),
                  std::span<float>(values).subspan(r * weight.rowLength, weight.rowLength));
  return values;
}

std::optional<WeightView> findBoundWeight(const LaunchWeights &weights, size_t launchIndex,
                                          const std::string &arg) {
  if (launchIndex >= weights.size())
    return std::nullopt;
  auto it = weights[launchIndex].find(arg);
  if (it == weights[launchIndex].end())
    return std::nullopt;
  return it->second;
}

} // namespace greta::cpu
