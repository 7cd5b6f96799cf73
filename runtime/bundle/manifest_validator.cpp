//===- manifest_validator.cpp - Everything a manifest says, checked before use -===//
//
// Checks run in dependency order: model, weights, buffers, kernels, then each phase's launches
// against the family table (kernel_families.h) with the buffers and weights they name.
//
//===----------------------------------------------------------------------===//
#include "runtime/bundle/manifest_validator.h"

#include "runtime/bundle/audit_record.h"
#include "runtime/bundle/kernel_families.h"
#include "runtime/formats/gguf_layout.h"
#include "runtime/support/checked_math.h"
#include "runtime/support/error.h"
#include "runtime/support/fnv1a.h"

#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>

namespace greta::bundle {
namespace {

/// Dimension parameters feed 32-bit GPU index arithmetic.
constexpr int64_t kMaxDimParam = int64_t{1} << 31;

template <typename T>
void requireUniqueNames(const std::vector<T> &items, const std::string &label,
                        std::string_view field) {
  std::set<std::string_view> seen;
  for (size_t i = 0; i < items.size(); ++i)
    if (!seen.insert(items[i].name).second)
      fail("{}: {}[{}]: name '{}' is used twice", label, field, i, items[i].name);
}

/// A bundle-relative path that stays inside the bundle.
bool isInsideBundle(std::string_view path) {
  if (path.empty() || path.front() == '/')
    return false;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos)
      end = path.size();
    std::string_view part = path.substr(start, end - start);
    if (part.empty() || part == "." || part == "..")
      return false;
    start = end + 1;
  }
  return true;
}

const ParamValue *findParam(const KernelSpec &kernel, std::string_view name) {
  auto it = kernel.params.find(std::string(name));
  return it == kernel.params.end() ? nullptr : &it->second;
}

bool presenceHolds(Presence presence, const KernelSpec &kernel) {
  auto paramIs = [&](std::string_view name, std::string_view value) {
    const ParamValue *p = findParam(kernel, name);
    const std::string *text = p ? std::get_if<std::string>(p) : nullptr;
    return text && *text == value;
  };
  switch (presence) {
  case Presence::Always:
  case Presence::Optional:
    return true;
  case Presence::IfRmsNormPrologue:
    return paramIs("prologue", kPrologueRmsNorm);
  case Presence::IfResidualEpilogue:
    return paramIs("epilogue", kEpilogueResidualAdd);
  }
  return false;
}

std::string describeParam(const ParamValue &value) {
  return std::visit(
      [](const auto &v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::monostate>)
          return "null";
        else if constexpr (std::is_same_v<T, std::string>)
          return fmt::format("\"{}\"", v);
        else
          return fmt::format("{}", v);
      },
      value);
}

//===--- Model and weights -------------------------------------------------===//

void validateModel(const Manifest &m, const std::string &label) {
  const ModelParams &p = m.model;
  const std::pair<std::string_view, uint32_t> dims[] = {
      {"layers", p.layers},    {"dim", p.dim}, {"heads", p.heads}, {"kv_heads", p.kvHeads},
      {"head_dim", p.headDim}, {"ffn", p.ffn}, {"vocab", p.vocab}, {"context", p.context}};
  for (const auto &[name, value] : dims)
    if (value == 0)
      fail("{}: model.{} must be at least 1, got 0", label, name);
  if (p.heads % p.kvHeads != 0)
    fail("{}: model.heads {} is not a multiple of model.kv_heads {}", label, p.heads, p.kvHeads);
  if (!(p.ropeTheta > 0) || !(p.rmsEps > 0))
    fail("{}: model.rope_theta ({}) and model.rms_eps ({}) must be positive", label, p.ropeTheta,
         p.rmsEps);
  if (p.ropeFreqs && !m.findWeight(*p.ropeFreqs))
    fail("{}: model.rope_freqs names weight '{}', which is not in weights.tensors", label,
         *p.ropeFreqs);
}

void validateWeightEntry(const WeightEntry &w, WeightMode mode, const std::string &where) {
  if (!isSupportedForCompute(w.type))
    fail("{}: type {} is not one the runtime computes with (F32, F16, BF16, Q8_0, Q4_0, Q4_K, "
         "Q5_K, Q6_K)",
         where, nameOf(w.type));
  const uint64_t expected = gguf_layout::tensorBytes(w.type, w.dims, where);
  // Backend repacks (`<route>_<quant>_<tile>`) join this list with the backends that read them.
  if (w.layout != kLayoutGgml && w.layout != kLayoutF16Rows)
    fail("{}: layout '{}' is not one this runtime knows ({}, {})", where, w.layout, kLayoutGgml,
         kLayoutF16Rows);
  if (w.layout == kLayoutF16Rows && w.type != TensorType::F16)
    fail("{}: layout {} holds F16 values, but the type is {}", where, w.layout, nameOf(w.type));
  checkedAdd(w.offset, w.bytes, where + ": offset + bytes");
  if (mode == WeightMode::Embed) {
    // Embedded weights are stored in the layout the kernels read: for ggml and f16_rows that is
    // exactly type × dims. (External weights point at the source tensor, which the loader
    // checks against the GGUF's own table.)
    if ((w.layout == kLayoutGgml || w.layout == kLayoutF16Rows) && w.bytes != expected)
      fail("{}: bytes {} differ from the {} bytes of {} {}", where, w.bytes, expected,
           nameOf(w.type), fmt::join(w.dims, "x"));
    if (w.offset % kWeightAlignment != 0)
      fail("{}: offset {} is not a multiple of {}", where, w.offset, kWeightAlignment);
    if (w.checksum.empty())
      fail("{}: embedded weights need a checksum", where);
  }
  if (!w.checksum.empty() && !parseFnv1a64(w.checksum))
    fail("{}: checksum '{}' is not of the form fnv1a64:<16 hex digits>", where, w.checksum);
}

void validateWeights(const Manifest &m, const std::string &label) {
  requireUniqueNames(m.weights.tensors, label, "weights.tensors");
  if (m.weights.mode == WeightMode::Embed && m.weights.file != kWeightsFile)
    fail("{}: weights.file is '{}'; embedded weights live in '{}'", label, m.weights.file,
         kWeightsFile);
  for (size_t i = 0; i < m.weights.tensors.size(); ++i) {
    const WeightEntry &w = m.weights.tensors[i];
    validateWeightEntry(w, m.weights.mode,
                        fmt::format("{}: weights.tensors[{}] '{}'", label, i, w.name));
  }
}

//===--- Buffers -----------------------------------------------------------===//

void validateBuffer(const BufferSpec &b, const std::string &where) {
  using Kind = RowExtent::Kind;
  auto require = [&](bool ok, std::string_view rule) {
    if (!ok)
      fail("{} (kind {}, dtype {}, rows {}, cols {}): {}", where, nameOf(b.kind), nameOf(b.dtype),
           formatRowExtent(b.rows), b.cols, rule);
  };
  if (b.rows.kind == Kind::Fixed)
    require(b.rows.count >= 1, "rows must be at least 1");
  switch (b.kind) {
  case BufferKind::Input:
    require(b.name == kTokensBuffer || b.name == kPositionsBuffer,
            "the only input buffers are 'tokens' and 'positions'");
    require(b.dtype == BufferDType::I32 && b.rows.kind == Kind::Seq && b.cols == 1,
            "input buffers are i32 with rows \"seq\" and cols 1");
    break;
  case BufferKind::Kv:
    require((b.dtype == BufferDType::F32 || b.dtype == BufferDType::F16) &&
                b.rows.kind == Kind::Context,
            "KV caches are f32 or f16 with rows \"context\"");
    break;
  case BufferKind::Audit:
    require(b.dtype == BufferDType::U8 && b.rows == RowExtent::fixed(1) &&
                b.cols == kAuditRecordBytes,
            fmt::format("audit buffers are u8 with rows 1 and cols {}", kAuditRecordBytes));
    break;
  case BufferKind::Activation:
    require((b.dtype == BufferDType::F32 || b.dtype == BufferDType::F16) &&
                b.rows.kind != Kind::Context,
            "activations are f32 (or f16, cast_f16's) with rows \"seq\", \"last\" or a count");
    break;
  case BufferKind::Logits:
    require(b.dtype == BufferDType::F32 && b.rows.kind != Kind::Context,
            "logits are f32 with rows \"seq\", \"last\" or a count");
    break;
  case BufferKind::Scratch:
    require(b.dtype == BufferDType::F16 && b.rows == RowExtent::fixed(1) && b.cols >= 1 &&
                b.cols <= kMaxScratchValues,
            fmt::format("scratch buffers are f16 with rows 1 and 1 to {} cols",
                        kMaxScratchValues));
    break;
  }
}

void validateBuffers(const Manifest &m, const std::string &label) {
  requireUniqueNames(m.buffers, label, "buffers");
  for (size_t i = 0; i < m.buffers.size(); ++i)
    validateBuffer(m.buffers[i], fmt::format("{}: buffers[{}] '{}'", label, i, m.buffers[i].name));
  for (std::string_view input : {kTokensBuffer, kPositionsBuffer}) {
    const BufferSpec *b = m.findBuffer(input);
    if (!b || b->kind != BufferKind::Input)
      fail("{}: buffers: the input buffer '{}' (kind input) is missing", label, input);
  }
}

//===--- Kernels -----------------------------------------------------------===//

void validateParam(const KernelSpec &k, const ParamSpec &spec, const ParamValue &value,
                   const std::string &where) {
  const std::string field =
      fmt::format("{}: params.{} = {}", where, spec.name, describeParam(value));
  const auto *integer = std::get_if<int64_t>(&value);
  const auto *text = std::get_if<std::string>(&value);
  switch (spec.type) {
  case ParamType::Dim:
    if (!integer || *integer < 1 || *integer >= kMaxDimParam)
      fail("{}: expected an integer in [1, {})", field, kMaxDimParam);
    return;
  case ParamType::PositiveNumber: {
    const auto *real = std::get_if<double>(&value);
    const double v = real ? *real : integer ? static_cast<double>(*integer) : -1.0;
    if (!(real || integer) || !(v > 0) || !std::isfinite(v))
      fail("{}: expected a finite number > 0", field);
    return;
  }
  case ParamType::Bool:
    if (!std::holds_alternative<bool>(value))
      fail("{}: expected true or false", field);
    return;
  case ParamType::Name:
    if (!text || text->empty())
      fail("{}: expected a non-empty string", field);
    return;
  case ParamType::Choice:
    if (!text || std::find(spec.choices.begin(), spec.choices.end(), *text) == spec.choices.end())
      fail("{}: expected one of {}", field, fmt::join(spec.choices, ", "));
    return;
  case ParamType::TensorTypeName: {
    auto type = text ? parseTensorType(*text) : std::nullopt;
    if (!type || !isSupportedForCompute(*type))
      fail("{}: expected a tensor type the runtime computes with (F32, F16, BF16, Q8_0, Q4_0, "
           "Q4_K, Q5_K, Q6_K)",
           field);
    return;
  }
  case ParamType::RopeFreqs:
    if (!std::holds_alternative<std::monostate>(value) && (!text || text->empty()))
      fail("{}: expected null, \"none\" or a weight name", field);
    return;
  }
}

/// `code_objects`: one per target, named after the kernel and target, with their hashes.
void validateCodeObjects(const KernelSpec &k, const std::string &where) {
  std::set<std::string> targets;
  for (size_t i = 0; i < k.codeObjects.size(); ++i) {
    const CodeObjectEntry &c = k.codeObjects[i];
    const std::string field = fmt::format("{}: code_objects[{}]", where, i);
    const bool targetOk =
        !c.target.empty() && std::all_of(c.target.begin(), c.target.end(), [](char ch) {
          return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_';
        });
    if (!targetOk)
      fail("{}: target '{}' is not a GPU target name (sm_90, gfx942)", field, c.target);
    if (!targets.insert(c.target).second)
      fail("{}: a second code object for target {}", field, c.target);
    const std::string file = fmt::format("{}/{}.{}.co", kKernelsDir, k.name, c.target);
    if (c.file != file)
      fail("{}: file '{}' must be '{}'", field, c.file, file);
    if (c.bytes == 0)
      fail("{}: bytes must be at least 1", field);
    if (!parseFnv1a64(c.key) || !parseFnv1a64(c.checksum))
      fail("{}: key and checksum must be fnv1a64:<16 hex digits>, got '{}' and '{}'", field, c.key,
           c.checksum);
  }
}

void validateKernel(const KernelSpec &k, const std::string &where) {
  const FamilySpec *family = findFamily(k.family);
  if (!family)
    fail("{}: family '{}' is not a kernel family of format version {} (known: {})", where, k.family,
         kFormatVersion, familyNames());
  if (family->routes.size() == 0 ? !k.route.empty()
                                 : std::find(family->routes.begin(), family->routes.end(),
                                             k.route) == family->routes.end())
    fail("{}: route '{}' is not a route of family {} (routes: {})", where, k.route, k.family,
         family->routes.size() == 0 ? "none" : fmt::format("{}", fmt::join(family->routes, ", ")));
  if (!k.source.empty() && !isInsideBundle(k.source))
    fail("{}: source '{}' is not a relative path inside the bundle", where, k.source);
  validateCodeObjects(k, where);
  for (const ParamSpec &spec : family->params) {
    const ParamValue *value = findParam(k, spec.name);
    if (!value) {
      if (spec.presence != Presence::Optional && presenceHolds(spec.presence, k))
        fail("{}: params.{} is missing (family {} needs it)", where, spec.name, k.family);
      continue;
    }
    validateParam(k, spec, *value, where);
  }
  for (const ParamRule &rule : family->rules) {
    const int64_t a = dimParam(k, rule.param);
    if (rule.kind == ParamRule::Kind::Even && a % 2 != 0)
      fail("{}: params.{} = {} must be even", where, rule.param, a);
    if (rule.kind == ParamRule::Kind::MultipleOf && a % dimParam(k, rule.other) != 0)
      fail("{}: params.{} = {} must be a multiple of params.{} = {}", where, rule.param, a,
           rule.other, dimParam(k, rule.other));
  }
}

void validateKernels(const Manifest &m, const std::string &label) {
  requireUniqueNames(m.kernels, label, "kernels");
  for (size_t i = 0; i < m.kernels.size(); ++i)
    validateKernel(m.kernels[i], fmt::format("{}: kernels[{}] '{}'", label, i, m.kernels[i].name));
}

//===--- Launches ----------------------------------------------------------===//

/// A shape expression's value: product of "1" and Dim params; nullopt for "*" and "" (any).
std::optional<uint64_t> evaluate(std::string_view expression, const KernelSpec &kernel) {
  if (expression == "*" || expression.empty())
    return std::nullopt;
  uint64_t product = 1;
  size_t start = 0;
  while (start <= expression.size()) {
    size_t end = expression.find('*', start);
    if (end == std::string_view::npos)
      end = expression.size();
    std::string_view term = expression.substr(start, end - start);
    const uint64_t value = term == "1" ? 1 : static_cast<uint64_t>(dimParam(kernel, term));
    product = checkedMul(product, value, fmt::format("kernel '{}': {}", kernel.name, expression));
    start = end + 1;
  }
  return product;
}

/// A buffer's row count as seen in a phase: decode's "seq" is its fixed count, "last" is 1.
RowExtent rowsInPhase(const RowExtent &rows, const PhaseSeq &seq) {
  if (rows.kind == RowExtent::Kind::Last)
    return RowExtent::fixed(1);
  if (rows.kind == RowExtent::Kind::Seq && !seq.dynamic)
    return RowExtent::fixed(seq.fixed);
  return rows;
}

/// Checks one launch and records what it writes.
class LaunchChecker {
public:
  LaunchChecker(const Manifest &m, const PhasePlan &phase, std::set<std::string> &written)
      : m_(m), phase_(phase), written_(written) {}

  void check(const Launch &launch, const std::string &where) {
    const KernelSpec *kernel = m_.findKernel(launch.kernel);
    if (!kernel)
      fail("{}: kernel '{}' is not in the manifest's kernels", where, launch.kernel);
    const FamilySpec &family = *findFamily(kernel->family);
    const std::string at =
        fmt::format("{} (kernel '{}', family {})", where, kernel->name, kernel->family);
    for (const auto &[arg, value] : launch.args) {
      auto spec = std::find_if(family.args.begin(), family.args.end(),
                               [&, &arg = arg](const ArgSpec &a) { return a.name == arg; });
      if (spec == family.args.end())
        fail("{}: args.{}: family {} has no argument '{}' (arguments: {})", at, arg, kernel->family,
             arg, argNames(family));
      if (!presenceHolds(spec->presence, *kernel))
        fail("{}: args.{}: not used with these params (prologue/epilogue); remove it or set the "
             "param",
             at, arg);
    }
    const RowExtent launchRows = rowsOfLaunch(launch, *kernel, family, at);
    for (const ArgSpec &spec : family.args) {
      auto it = launch.args.find(std::string(spec.name));
      if (it == launch.args.end()) {
        if (presenceHolds(spec.presence, *kernel) && spec.presence != Presence::Optional)
          fail("{}: args.{} is missing (family {} needs: {})", at, spec.name, kernel->family,
               argNames(family));
        continue;
      }
      const std::string argAt = fmt::format("{}: args.{} = '{}'", at, spec.name, it->second);
      if (spec.isWeight)
        checkWeightArg(spec, it->second, *kernel, argAt);
      else
        checkBufferArg(spec, it->second, *kernel, launchRows, argAt);
    }
    checkAliasing(launch, family, at);
    for (const ArgSpec &spec : family.args) {
      auto it = launch.args.find(std::string(spec.name));
      if (it != launch.args.end() && !spec.isWeight && spec.access != Access::Read)
        written_.insert(it->second);
    }
    if (auto freqs = ropeFreqsParam(*kernel))
      checkRopeFreqs(*freqs, *kernel, at);
  }

private:
  /// Where a param chooses the argument's dtype, what the kernel says: " (params.kv_dtype =
  /// "f16")", or that it gives none (the family's default).
  static std::string dtypeParamNote(const ArgSpec &spec, const KernelSpec &kernel) {
    if (spec.dtypeParam.empty())
      return "";
    const ParamValue *value = findParam(kernel, spec.dtypeParam);
    return value ? fmt::format(" (params.{} = {})", spec.dtypeParam, describeParam(*value))
                 : fmt::format(" (the kernel gives no params.{}: {})", spec.dtypeParam,
                               nameOf(spec.dtype));
  }

  static std::string argNames(const FamilySpec &family) {
    std::vector<std::string_view> names;
    for (const ArgSpec &a : family.args)
      names.push_back(a.name);
    return fmt::format("{}", fmt::join(names, ", "));
  }

  const BufferSpec &bufferOf(std::string_view value, const std::string &at) const {
    if (weightRefName(value))
      fail("{}: expected a buffer, got a weight reference", at);
    const BufferSpec *b = m_.findBuffer(value);
    if (!b)
      fail("{}: no buffer named '{}' in buffers", at, value);
    return *b;
  }

  RowExtent rowsOfLaunch(const Launch &launch, const KernelSpec &kernel, const FamilySpec &family,
                         const std::string &at) const {
    auto it = launch.args.find(std::string(family.rowsArg));
    if (it == launch.args.end())
      fail("{}: args.{} is missing", at, family.rowsArg);
    const BufferSpec &b = bufferOf(it->second, fmt::format("{}: args.{}", at, family.rowsArg));
    return rowsInPhase(b.rows, phase_.seq);
  }

  void checkBufferArg(const ArgSpec &spec, const std::string &value, const KernelSpec &kernel,
                      const RowExtent &launchRows, const std::string &at) {
    const BufferSpec &b = bufferOf(value, at);
    if (const BufferDType needed = argDType(spec, kernel); b.dtype != needed)
      fail("{}: buffer dtype is {}, family {} needs {}{}", at, nameOf(b.dtype), kernel.family,
           nameOf(needed), dtypeParamNote(spec, kernel));
    if (auto cols = evaluate(spec.cols, kernel); cols && b.cols != *cols)
      fail("{}: buffer has {} cols, but {} = {}", at, b.cols, spec.cols, *cols);
    const RowExtent rows = rowsInPhase(b.rows, phase_.seq);
    const bool isCache = b.kind == BufferKind::Kv;
    const bool isRecord = b.kind == BufferKind::Audit;
    if ((spec.rows == RowRule::Scratch) != (b.kind == BufferKind::Scratch))
      fail("{}: {}", at,
           spec.rows == RowRule::Scratch
               ? fmt::format("needs a scratch buffer (kind scratch), got kind {}", nameOf(b.kind))
               : std::string("a scratch buffer cannot be used here"));
    switch (spec.rows) {
    case RowRule::Scratch: {
      const std::optional<uint64_t> needed = evaluate(spec.scratchValues, kernel);
      if (needed && b.cols < *needed)
        fail("{}: scratch buffer holds {} values, but {} = {}", at, b.cols, spec.scratchValues,
             *needed);
      break;
    }
    case RowRule::Context:
      if (!isCache)
        fail("{}: needs a KV cache buffer (kind kv), got kind {}", at, nameOf(b.kind));
      break;
    case RowRule::Record:
      if (!isRecord)
        fail("{}: needs an audit record buffer (kind audit), got kind {}", at, nameOf(b.kind));
      break;
    case RowRule::OneRow:
      if (rows != RowExtent::fixed(1))
        fail("{}: needs exactly one row, buffer has rows {}", at, formatRowExtent(b.rows));
      break;
    case RowRule::AnyRows:
    case RowRule::PerRow:
      if (isCache || isRecord)
        fail("{}: a {} buffer cannot be used here", at, nameOf(b.kind));
      if (spec.rows == RowRule::PerRow && !rowsFit(rows, launchRows, spec.access != Access::Read))
        fail("{}: rows {} do not match the launch's rows ({} in phase with seq {})", at,
             formatRowExtent(b.rows), formatRowExtent(launchRows),
             phase_.seq.dynamic ? "dynamic" : std::to_string(phase_.seq.fixed));
      break;
    }
    if (spec.access != Access::Write && !written_.count(value))
      fail("{}: buffer '{}' is read before any earlier launch of the phase writes it", at, value);
    if (spec.access != Access::Read && b.kind == BufferKind::Input)
      fail("{}: input buffer '{}' is written only by the runtime", at, value);
  }

  /// Written arguments have exactly the launch's rows; read ones may have more (the last rows
  /// are used), e.g. a full-sequence input to a last-row-only launch.
  static bool rowsFit(const RowExtent &arg, const RowExtent &launch, bool written) {
    if (arg == launch)
      return true;
    if (written || launch.kind != RowExtent::Kind::Fixed)
      return false;
    if (arg.kind == RowExtent::Kind::Seq)
      return launch.count == 1; // a dynamic sequence has at least one row
    return arg.kind == RowExtent::Kind::Fixed && arg.count >= launch.count;
  }

  void checkWeightArg(const ArgSpec &spec, const std::string &value, const KernelSpec &kernel,
                      const std::string &at) const {
    auto name = weightRefName(value);
    if (!name)
      fail("{}: expected a weight reference '@name'", at);
    const WeightEntry *w = m_.findWeight(*name);
    if (!w)
      fail("{}: no weight named '{}' in weights.tensors", at, *name);
    std::vector<std::string> expected;
    bool matches = w->dims.size() == spec.dims.size();
    size_t i = 0;
    for (std::string_view expression : spec.dims) {
      auto dim = evaluate(expression, kernel);
      expected.push_back(dim ? std::to_string(*dim) : "*");
      if (dim && i < w->dims.size() && w->dims[i] != *dim)
        matches = false;
      ++i;
    }
    if (!matches)
      fail("{}: weight dims [{}], family {} needs [{}]", at, fmt::join(w->dims, ", "),
           kernel.family, fmt::join(expected, ", "));
    const std::string typeParam =
        !spec.typeParam.empty() && kernel.params.count(std::string(spec.typeParam))
            ? std::string(spec.typeParam)
            : "quant";
    if (spec.typeIsQuantParam && nameOf(w->type) != stringParam(kernel, typeParam))
      fail("{}: weight type {} differs from params.{} {}", at, nameOf(w->type), typeParam,
           stringParam(kernel, typeParam));
  }

  void checkRopeFreqs(const std::string &name, const KernelSpec &kernel,
                      const std::string &at) const {
    const WeightEntry *w = m_.findWeight(name);
    if (!w)
      fail("{}: params.freqs names weight '{}', which is not in weights.tensors", at, name);
    const uint64_t pairs = static_cast<uint64_t>(dimParam(kernel, "head_dim")) / 2;
    if (w->dims.size() != 1 || w->dims[0] != pairs)
      fail("{}: params.freqs weight '{}' has dims [{}], needs [{}] (head_dim / 2)", at, name,
           fmt::join(w->dims, ", "), pairs);
  }

  static void checkAliasing(const Launch &launch, const FamilySpec &family, const std::string &at) {
    for (const auto &[a, va] : launch.args)
      for (const auto &[b, vb] : launch.args) {
        if (a >= b || va != vb || weightRefName(va))
          continue;
        const bool allowed =
            std::any_of(family.mayAlias.begin(), family.mayAlias.end(),
                        [&, &a = a, &b = b](const AliasPair &pair) {
              return (pair.a == a && pair.b == b) || (pair.a == b && pair.b == a);
            });
        if (!allowed)
          fail("{}: args.{} and args.{} both name buffer '{}'; family {} cannot update it in "
               "place",
               at, a, b, va, family.name);
      }
  }

  const Manifest &m_;
  const PhasePlan &phase_;
  std::set<std::string> &written_;
};

/// Checks a launch list and its audit points, as a phase with `plan.seq` and `plan.logits` runs
/// them; `where` is "label: phases.NAME" (or an alternative inside it).
void validateLaunches(const Manifest &m, const PhasePlan &plan, const std::string &where) {
  if (plan.launches.empty())
    fail("{}.launches: a phase needs at least one launch", where);
  std::set<std::string> written;
  for (const BufferSpec &b : m.buffers)
    if (b.kind == BufferKind::Input || b.kind == BufferKind::Kv)
      written.insert(b.name);
  // written after launch i, for the audit points.
  std::vector<std::set<std::string>> writtenAfter;
  LaunchChecker checker(m, plan, written);
  for (size_t i = 0; i < plan.launches.size(); ++i) {
    checker.check(plan.launches[i], fmt::format("{}.launches[{}]", where, i));
    writtenAfter.push_back(written);
  }
  if (!written.count(plan.logits))
    fail("{}.logits: no launch of the phase writes buffer '{}'", where, plan.logits);

  std::set<std::string_view> points;
  for (size_t i = 0; i < plan.audits.size(); ++i) {
    const AuditPoint &a = plan.audits[i];
    const std::string at = fmt::format("{}.audits[{}] '{}'", where, i, a.point);
    if (!points.insert(a.point).second)
      fail("{}: audit point listed twice", at);
    const BufferSpec *audited = m.findBuffer(a.buffer);
    if (!audited)
      fail("{}: no buffer named '{}'", at, a.buffer);
    if (a.launchIndex >= plan.launches.size())
      fail("{}: launch_index {} is past the {} launches", at, a.launchIndex, plan.launches.size());
    if (!writtenAfter[a.launchIndex].count(a.buffer))
      fail("{}: buffer '{}' is not written by launch {} or earlier", at, a.buffer, a.launchIndex);
    if (a.input.empty())
      continue;
    const BufferSpec *input = m.findBuffer(a.input);
    if (!input)
      fail("{}: input: no buffer named '{}'", at, a.input);
    if (input->dtype != BufferDType::F32 || input->cols != audited->cols)
      fail("{}: input buffer '{}' is {} with {} cols; it must be f32 with the audited buffer's {} "
           "cols",
           at, a.input, nameOf(input->dtype), input->cols, audited->cols);
    if (!writtenAfter[a.launchIndex].count(a.input))
      fail("{}: input buffer '{}' is not written by launch {} or earlier", at, a.input,
           a.launchIndex);
  }
}

/// An alternative "OP=ROUTE": a launch list of its own in which every OP launch takes ROUTE, with
/// the phase's audit points.
void validateAlternative(const Manifest &m, const PhasePlan &phase, const std::string &key,
                         const PhaseAlternative &alternative, const std::string &where) {
  const std::string at = fmt::format("{}.alternatives['{}']", where, key);
  auto choice = parseRouteChoice(key);
  const FamilySpec *family = choice ? findFamily(choice->first) : nullptr;
  if (!family || family->routes.empty())
    fail("{}: the key must be OP=ROUTE with OP a kernel family that has routes (matmul, "
         "matmul_gate_up, matmul_qkv, lm_head, attention)",
         at);
  const auto &[op, route] = *choice;
  if (std::find(family->routes.begin(), family->routes.end(), route) == family->routes.end())
    fail("{}: family {} has no route '{}' (routes: {})", at, op, route,
         fmt::join(family->routes, ", "));
  PhasePlan plan;
  plan.seq = phase.seq;
  plan.logits = phase.logits;
  plan.launches = alternative.launches;
  plan.audits = alternative.audits;
  validateLaunches(m, plan, at);
  if (routesOf(m, alternative.launches, op) != std::set<std::string>{route})
    fail("{}: its {} launches take routes [{}]; an alternative for {} must run every {} launch "
         "on route {}",
         at, op, fmt::join(routesOf(m, alternative.launches, op), ", "), key, op, route);
  if (routesOf(m, phase.launches, op) == std::set<std::string>{route})
    fail("{}: the phase's own {} launches already take route {}", at, op, route);
  std::set<std::string> phasePoints, alternativePoints;
  for (const AuditPoint &a : phase.audits)
    phasePoints.insert(a.point);
  for (const AuditPoint &a : alternative.audits)
    alternativePoints.insert(a.point);
  if (phasePoints != alternativePoints)
    fail("{}: audits list points [{}], the phase lists [{}]; forcing a route must keep every "
         "audit point",
         at, fmt::join(alternativePoints, ", "), fmt::join(phasePoints, ", "));
}

void validatePhase(const Manifest &m, PhaseKind kind, const std::string &label) {
  const PhasePlan &phase = m.phase(kind);
  const std::string where = fmt::format("{}: phases.{}", label, nameOf(kind));
  if (kind == PhaseKind::Prefill && !phase.seq.dynamic)
    fail("{}.seq: prefill must be \"dynamic\"", where);
  if (kind == PhaseKind::Decode && (phase.seq.dynamic || phase.seq.fixed != 1))
    fail("{}.seq: decode must be 1", where);
  const BufferSpec *logits = m.findBuffer(phase.logits);
  if (!logits || logits->kind != BufferKind::Logits)
    fail("{}.logits: '{}' is not a buffer of kind logits", where, phase.logits);
  if (logits->cols != m.model.vocab || rowsInPhase(logits->rows, phase.seq) != RowExtent::fixed(1))
    fail("{}.logits: buffer '{}' must have rows 1 and cols = model.vocab {}, has rows {} cols {}",
         where, logits->name, m.model.vocab, formatRowExtent(logits->rows), logits->cols);
  validateLaunches(m, phase, where);
  for (const auto &[key, alternative] : phase.alternatives)
    validateAlternative(m, phase, key, alternative, where);
}

const ParamValue &requireParam(const KernelSpec &kernel, std::string_view name) {
  const ParamValue *value = findParam(kernel, name);
  if (!value)
    fail("kernel '{}': params.{} is missing", kernel.name, name);
  return *value;
}

} // namespace

void validateManifest(const Manifest &m, const std::string &label) {
  if (m.format != kFormatName || m.formatVersion != kFormatVersion)
    fail("{}: format '{}' version {} is not '{}' version {}", label, m.format, m.formatVersion,
         kFormatName, kFormatVersion);
  if (m.generator.empty())
    fail("{}: generator must name the program that wrote the bundle", label);
  if (m.source.path.empty() || !parseFnv1a64(m.source.headerHash))
    fail("{}: source needs a path and a header_hash of the form fnv1a64:<16 hex digits>, got "
         "'{}' and '{}'",
         label, m.source.path, m.source.headerHash);
  validateWeights(m, label);
  validateModel(m, label);
  validateBuffers(m, label);
  validateKernels(m, label);
  validatePhase(m, PhaseKind::Prefill, label);
  validatePhase(m, PhaseKind::Decode, label);
}

void validateEmbeddedRanges(const Manifest &m, uint64_t fileSize, const std::string &fileLabel) {
  for (const WeightEntry &w : m.weights.tensors) {
    const uint64_t end = checkedAdd(w.offset, w.bytes, fmt::format("weight '{}'", w.name));
    if (end > fileSize)
      fail("{}: weight '{}': offset {} + {} bytes = {} exceeds the file size {}", fileLabel, w.name,
           w.offset, w.bytes, end, fileSize);
  }
}

int64_t dimParam(const KernelSpec &kernel, std::string_view name) {
  const ParamValue &value = requireParam(kernel, name);
  if (const auto *integer = std::get_if<int64_t>(&value))
    return *integer;
  fail("kernel '{}': params.{} = {} is not an integer", kernel.name, name, describeParam(value));
}

double numberParam(const KernelSpec &kernel, std::string_view name) {
  const ParamValue &value = requireParam(kernel, name);
  if (const auto *real = std::get_if<double>(&value))
    return *real;
  if (const auto *integer = std::get_if<int64_t>(&value))
    return static_cast<double>(*integer);
  fail("kernel '{}': params.{} = {} is not a number", kernel.name, name, describeParam(value));
}

const std::string &stringParam(const KernelSpec &kernel, std::string_view name) {
  const ParamValue &value = requireParam(kernel, name);
  if (const auto *text = std::get_if<std::string>(&value))
    return *text;
  fail("kernel '{}': params.{} = {} is not a string", kernel.name, name, describeParam(value));
}

bool boolParam(const KernelSpec &kernel, std::string_view name) {
  const ParamValue &value = requireParam(kernel, name);
  if (const auto *flag = std::get_if<bool>(&value))
    return *flag;
  fail("kernel '{}': params.{} = {} is not a boolean", kernel.name, name, describeParam(value));
}

std::optional<std::string> ropeFreqsParam(const KernelSpec &kernel) {
  const ParamValue *value = findParam(kernel, "freqs");
  const std::string *text = value ? std::get_if<std::string>(value) : nullptr;
  if (!text || *text == kRopeFreqsNone)
    return std::nullopt;
  return std::string(weightRefName(*text).value_or(*text));
}

} // namespace greta::bundle
