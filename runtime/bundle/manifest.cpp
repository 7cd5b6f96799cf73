//===- manifest.cpp - Enum spellings and look-ups of the manifest structs --===//
//
// The JSON spelling of every enum lives in one table per enum, so writing and parsing can never
// disagree.
//
//===----------------------------------------------------------------------===//
#include "runtime/bundle/manifest.h"

#include <array>
#include <utility>

namespace greta::bundle {
namespace {

template <typename Enum, size_t N>
using SpellingTable = std::array<std::pair<Enum, std::string_view>, N>;

constexpr SpellingTable<WeightMode, 2> kWeightModes = {{
    {WeightMode::Embed, "embed"},
    {WeightMode::External, "external"},
}};

constexpr SpellingTable<BufferKind, 6> kBufferKinds = {{
    {BufferKind::Activation, "activation"},
    {BufferKind::Logits, "logits"},
    {BufferKind::Kv, "kv"},
    {BufferKind::Input, "input"},
    {BufferKind::Audit, "audit"},
    {BufferKind::Scratch, "scratch"},
}};

constexpr SpellingTable<BufferDType, 4> kBufferDTypes = {{
    {BufferDType::F32, "f32"},
    {BufferDType::I32, "i32"},
    {BufferDType::U8, "u8"},
    {BufferDType::F16, "f16"},
}};

template <typename Enum, size_t N>
std::string_view spell(const SpellingTable<Enum, N> &table, Enum value) {
  for (const auto &[entry, name] : table)
    if (entry == value)
      return name;
  return "?";
}

template <typename Enum, size_t N>
std::optional<Enum> parse(const SpellingTable<Enum, N> &table, std::string_view text) {
  for (const auto &[entry, name] : table)
    if (name == text)
      return entry;
  return std::nullopt;
}

template <typename T> const T *findByName(const std::vector<T> &items, std::string_view name) {
  for (const T &item : items)
    if (item.name == name)
      return &item;
  return nullptr;
}

} // namespace

const BufferSpec *Manifest::findBuffer(std::string_view name) const {
  return findByName(buffers, name);
}
const KernelSpec *Manifest::findKernel(std::string_view name) const {
  return findByName(kernels, name);
}
const WeightEntry *Manifest::findWeight(std::string_view name) const {
  return findByName(weights.tensors, name);
}

std::string_view nameOf(WeightMode mode) { return spell(kWeightModes, mode); }
std::string_view nameOf(BufferKind kind) { return spell(kBufferKinds, kind); }
std::string_view nameOf(BufferDType dtype) { return spell(kBufferDTypes, dtype); }
std::string_view nameOf(PhaseKind kind) {
  return kind == PhaseKind::Prefill ? "prefill" : "decode";
}

std::optional<WeightMode> parseWeightMode(std::string_view text) {
  return parse(kWeightModes, text);
}
std::optional<BufferKind> parseBufferKind(std::string_view text) {
  return parse(kBufferKinds, text);
}
std::optional<BufferDType> parseBufferDType(std::string_view text) {
  return parse(kBufferDTypes, text);
}

std::string formatRowExtent(const RowExtent &rows) {
  switch (rows.kind) {
  case RowExtent::Kind::Seq:
    return "seq";
  case RowExtent::Kind::Last:
    return "last";
  case RowExtent::Kind::Context:
    return "context";
  case RowExtent::Kind::Fixed:
    break;
  }
  return std::to_string(rows.count);
}

uint64_t bytesOf(BufferDType dtype) {
  switch (dtype) {
  case BufferDType::F32:
  case BufferDType::I32:
    return 4;
  case BufferDType::F16:
    return 2;
  case BufferDType::U8:
    break;
  }
  return 1;
}

std::set<std::string> routesOf(const Manifest &manifest, const std::vector<Launch> &launches,
                               std::string_view op) {
  std::set<std::string> routes;
  for (const Launch &launch : launches)
    if (const KernelSpec *kernel = manifest.findKernel(launch.kernel);
        kernel && kernel->family == op)
      routes.insert(kernel->route);
  return routes;
}

const AuditPoint *findAuditPoint(const PhasePlan &plan, std::string_view point) {
  for (const AuditPoint &a : plan.audits)
    if (a.point == point)
      return &a;
  return nullptr;
}

std::optional<std::pair<std::string, std::string>> parseRouteChoice(std::string_view text) {
  const size_t equals = text.find('=');
  if (equals == std::string_view::npos || equals == 0 || equals + 1 == text.size() ||
      text.find('=', equals + 1) != std::string_view::npos)
    return std::nullopt;
  return std::pair{std::string(text.substr(0, equals)), std::string(text.substr(equals + 1))};
}

std::optional<std::string_view> weightRefName(std::string_view argValue) {
  if (argValue.starts_with('@'))
    return argValue.substr(1);
  return std::nullopt;
}

} // namespace greta::bundle
