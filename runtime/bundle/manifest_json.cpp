//===- manifest_json.cpp - manifest.json text <-> Manifest ------------------===//
//
// Writing uses nlohmann::ordered_json so the file reads in the order of docs/bundle-format.md.
// Reading walks the document through JsonField, which carries the field path so every error
// says exactly where the manifest is wrong.
//
//===----------------------------------------------------------------------===//
#include "runtime/bundle/manifest_json.h"

#include "runtime/support/error.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>

namespace greta::bundle {
namespace {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

/// Deepest nesting a manifest needs is 6 (phases.prefill.launches[i].grid[j]); anything far
/// deeper is hostile, and deep enough nesting would exhaust the stack of recursive JSON code.
constexpr int kMaxJsonDepth = 32;
/// Longest excerpt of an offending value quoted in an error.
constexpr size_t kMaxQuotedValue = 60;
/// Model hyper-parameters and dimensions are 32-bit in every consumer (GPU kernels included).
constexpr uint64_t kMaxUInt32 = std::numeric_limits<uint32_t>::max();
constexpr uint64_t kMaxInt64 = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());

//===--- Reading -----------------------------------------------------------===//

/// A JSON value plus where it sits in the manifest, for errors.
class JsonField {
public:
  JsonField(const Json &value, std::string path, const std::string &label)
      : value_(value), path_(std::move(path)), label_(label) {}

  const std::string &path() const { return path_; }
  const Json &raw() const { return value_; }
  bool isNull() const { return value_.is_null(); }

  template <typename... Args>
  [[noreturn]] void error(fmt::format_string<Args...> format, Args &&...args) const {
    fail("{}: field '{}': {}", label_, path_, fmt::format(format, std::forward<Args>(args)...));
  }

  /// A required member of this object.
  JsonField operator[](std::string_view key) const {
    requireObject();
    auto it = value_.find(key);
    if (it == value_.end())
      fail("{}: field '{}' is missing", label_, childPath(key));
    return JsonField(*it, childPath(key), label_);
  }
  /// A member that may be absent (nullopt). JSON null is returned as a field (see isNull()).
  std::optional<JsonField> optional(std::string_view key) const {
    requireObject();
    auto it = value_.find(key);
    if (it == value_.end())
      return std::nullopt;
    return JsonField(*it, childPath(key), label_);
  }

  std::string string() const {
    if (!value_.is_string())
      error("expected a string, got {}", describe());
    return value_.get<std::string>();
  }
  /// A string that must not be empty.
  std::string name() const {
    std::string text = string();
    if (text.empty())
      error("must not be empty");
    return text;
  }
  uint64_t unsignedInt(uint64_t max) const {
    // The parser stores every non-negative integer literal as number_unsigned.
    if (!value_.is_number_unsigned())
      error("expected a non-negative integer, got {}", describe());
    const uint64_t v = value_.get<uint64_t>();
    if (v > max)
      error("{} exceeds the limit {}", v, max);
    return v;
  }
  uint32_t uint32() const { return static_cast<uint32_t>(unsignedInt(kMaxUInt32)); }
  /// A finite number (integers accepted).
  double number() const {
    if (!value_.is_number())
      error("expected a number, got {}", describe());
    const double v = value_.get<double>();
    if (!std::isfinite(v))
      error("expected a finite number, got {}", v);
    return v;
  }
  bool boolean() const {
    if (!value_.is_boolean())
      error("expected true or false, got {}", describe());
    return value_.get<bool>();
  }

  /// The elements of this array.
  std::vector<JsonField> elements() const {
    if (!value_.is_array())
      error("expected an array, got {}", describe());
    std::vector<JsonField> out;
    out.reserve(value_.size());
    for (size_t i = 0; i < value_.size(); ++i)
      out.emplace_back(value_[i], fmt::format("{}[{}]", path_, i), label_);
    return out;
  }
  /// The members of this object, in key order.
  std::vector<std::pair<std::string, JsonField>> members() const {
    requireObject();
    std::vector<std::pair<std::string, JsonField>> out;
    for (auto it = value_.begin(); it != value_.end(); ++it)
      out.emplace_back(it.key(), JsonField(it.value(), childPath(it.key()), label_));
    return out;
  }

  std::string describe() const {
    std::string text = value_.dump(-1, ' ', false, Json::error_handler_t::replace);
    if (text.size() > kMaxQuotedValue)
      text = text.substr(0, kMaxQuotedValue) + "…";
    return fmt::format("{} {}", value_.type_name(), text);
  }

private:
  void requireObject() const {
    if (!value_.is_object())
      error("expected an object, got {}", describe());
  }
  std::string childPath(std::string_view key) const {
    return path_.empty() ? std::string(key) : fmt::format("{}.{}", path_, key);
  }

  const Json &value_;
  std::string path_;
  const std::string &label_;
};

template <typename Enum>
Enum parseEnum(const JsonField &field, std::optional<Enum> (*parse)(std::string_view),
               std::string_view choices) {
  const std::string text = field.string();
  if (auto value = parse(text))
    return *value;
  field.error("'{}' is not one of {}", text, choices);
}

RowExtent parseRowExtent(const JsonField &field) {
  if (field.raw().is_string()) {
    const std::string text = field.string();
    if (text == "seq")
      return RowExtent::seq();
    if (text == "last")
      return RowExtent::last();
    if (text == "context")
      return RowExtent::context();
    field.error("'{}' is not a row count (an integer, \"seq\", \"last\" or \"context\")", text);
  }
  const uint64_t count = field.unsignedInt(kMaxUInt32);
  if (count == 0)
    field.error("row count must be at least 1");
  return RowExtent::fixed(count);
}

std::vector<uint64_t> parseDims(const JsonField &field) {
  std::vector<uint64_t> dims;
  for (const JsonField &dim : field.elements())
    dims.push_back(dim.unsignedInt(kMaxInt64));
  return dims;
}

std::vector<std::string> parseStrings(const JsonField &field) {
  std::vector<std::string> out;
  for (const JsonField &item : field.elements())
    out.push_back(item.string());
  return out;
}

std::string optionalString(const JsonField &object, std::string_view key) {
  auto field = object.optional(key);
  return !field || field->isNull() ? std::string() : field->string();
}

ParamValue parseParam(const JsonField &field) {
  const Json &v = field.raw();
  if (v.is_null())
    return std::monostate{};
  if (v.is_boolean())
    return v.get<bool>();
  if (v.is_number_unsigned())
    return static_cast<int64_t>(field.unsignedInt(kMaxInt64));
  if (v.is_number_integer())
    return v.get<int64_t>();
  if (v.is_number_float())
    return field.number();
  if (v.is_string())
    return v.get<std::string>();
  field.error("expected null, a boolean, a number or a string, got {}", field.describe());
}

SourceInfo parseSource(const JsonField &f) {
  SourceInfo s;
  s.path = f["path"].string();
  s.size = f["size"].unsignedInt(kMaxInt64);
  s.headerHash = f["header_hash"].string();
  return s;
}

ModelParams parseModel(const JsonField &f) {
  ModelParams m;
  m.arch = f["arch"].name();
  m.layers = f["layers"].uint32();
  m.dim = f["dim"].uint32();
  m.heads = f["heads"].uint32();
  m.kvHeads = f["kv_heads"].uint32();
  m.headDim = f["head_dim"].uint32();
  m.ffn = f["ffn"].uint32();
  m.vocab = f["vocab"].uint32();
  m.context = f["context"].uint32();
  m.ropeTheta = f["rope_theta"].number();
  m.rmsEps = f["rms_eps"].number();
  if (auto freqs = f.optional("rope_freqs"); freqs && !freqs->isNull())
    m.ropeFreqs = freqs->name();
  m.tiedEmbeddings = f["tied_embeddings"].boolean();
  return m;
}

CompileOptions parseOptions(const JsonField &f) {
  CompileOptions o;
  if (auto audit = f.optional("audit"))
    o.audit = audit->string();
  if (auto fuse = f.optional("fuse"))
    o.fuse = fuse->boolean();
  if (auto routes = f.optional("forced_routes"))
    for (const auto &[op, route] : routes->members())
      o.forcedRoutes[op] = route.string();
  if (auto fp16 = f.optional("fp16_weights"))
    o.fp16Weights = parseStrings(*fp16);
  if (auto targets = f.optional("targets"))
    o.targets = parseStrings(*targets);
  if (auto kvDtype = f.optional("kv_cache_dtype"))
    o.kvCacheDtype = kvDtype->string();
  return o;
}

WeightEntry parseWeightEntry(const JsonField &f) {
  WeightEntry w;
  w.name = f["name"].name();
  const JsonField typeField = f["type"];
  const std::string typeName = typeField.string();
  auto type = parseTensorType(typeName);
  if (!type)
    typeField.error("'{}' is not a ggml tensor type", typeName);
  w.type = *type;
  w.dims = parseDims(f["dims"]);
  w.layout = f["layout"].name();
  w.offset = f["offset"].unsignedInt(kMaxInt64);
  w.bytes = f["bytes"].unsignedInt(kMaxInt64);
  w.checksum = optionalString(f, "checksum");
  return w;
}

WeightTable parseWeights(const JsonField &f) {
  WeightTable t;
  t.mode = parseEnum(f["mode"], parseWeightMode, "embed, external");
  t.file = f["file"].name();
  for (const JsonField &entry : f["tensors"].elements())
    t.tensors.push_back(parseWeightEntry(entry));
  return t;
}

BufferSpec parseBuffer(const JsonField &f) {
  BufferSpec b;
  b.name = f["name"].name();
  b.kind = parseEnum(f["kind"], parseBufferKind, "activation, logits, kv, input, audit, scratch");
  b.dtype = parseEnum(f["dtype"], parseBufferDType, "f32, i32, u8, f16");
  b.rows = parseRowExtent(f["rows"]);
  b.cols = f["cols"].unsignedInt(kMaxUInt32);
  if (b.cols == 0)
    f["cols"].error("must be at least 1");
  return b;
}

KernelSpec parseKernel(const JsonField &f) {
  KernelSpec k;
  k.name = f["name"].name();
  k.family = f["family"].name();
  k.route = optionalString(f, "route");
  k.source = optionalString(f, "source");
  k.entry = optionalString(f, "entry");
  if (auto early = f.optional("early_start"))
    k.earlyStart = early->boolean();
  if (auto params = f.optional("params"))
    for (const auto &[key, value] : params->members())
      k.params[key] = parseParam(value);
  if (auto codeObjects = f.optional("code_objects"))
    for (const JsonField &entry : codeObjects->elements()) {
      CodeObjectEntry c;
      c.target = entry["target"].name();
      c.file = entry["file"].name();
      c.key = entry["key"].string();
      c.bytes = entry["bytes"].unsignedInt(kMaxInt64);
      c.checksum = entry["checksum"].string();
      k.codeObjects.push_back(std::move(c));
    }
  return k;
}

GridDim parseGridDim(const JsonField &f) {
  GridDim g;
  g.mul = static_cast<int64_t>(f["mul"].unsignedInt(kMaxUInt32));
  g.add = static_cast<int64_t>(f["add"].unsignedInt(kMaxUInt32));
  g.div = static_cast<int64_t>(f["div"].unsignedInt(kMaxUInt32));
  if (g.div == 0)
    f["div"].error("must be at least 1");
  return g;
}

Launch parseLaunch(const JsonField &f) {
  Launch l;
  l.kernel = f["kernel"].name();
  for (const auto &[arg, value] : f["args"].members())
    l.args[arg] = value.name();
  if (auto grid = f.optional("grid"))
    for (const JsonField &dim : grid->elements())
      l.grid.push_back(parseGridDim(dim));
  return l;
}

AuditPoint parseAudit(const JsonField &f) {
  AuditPoint a;
  a.point = f["point"].name();
  a.buffer = f["buffer"].name();
  if (auto rows = f.optional("rows"))
    a.rows = parseRowExtent(*rows);
  a.launchIndex = f["launch_index"].unsignedInt(kMaxUInt32);
  if (auto input = f.optional("input"))
    a.input = input->name();
  return a;
}

PhaseAlternative parseAlternative(const JsonField &f) {
  PhaseAlternative alternative;
  for (const JsonField &launch : f["launches"].elements())
    alternative.launches.push_back(parseLaunch(launch));
  for (const JsonField &audit : f["audits"].elements())
    alternative.audits.push_back(parseAudit(audit));
  return alternative;
}

PhasePlan parsePhase(const JsonField &f) {
  PhasePlan p;
  const JsonField seq = f["seq"];
  if (seq.raw().is_string()) {
    if (seq.string() != "dynamic")
      seq.error("expected \"dynamic\" or a token count, got {}", seq.describe());
    p.seq.dynamic = true;
  } else {
    p.seq.fixed = seq.unsignedInt(kMaxUInt32);
    if (p.seq.fixed == 0)
      seq.error("must be at least 1");
  }
  p.logits = f["logits"].name();
  for (const JsonField &launch : f["launches"].elements())
    p.launches.push_back(parseLaunch(launch));
  if (auto audits = f.optional("audits"))
    for (const JsonField &audit : audits->elements())
      p.audits.push_back(parseAudit(audit));
  if (auto alternatives = f.optional("alternatives"))
    for (const auto &[key, alternative] : alternatives->members())
      p.alternatives[key] = parseAlternative(alternative);
  return p;
}

/// The format name and version, checked before anything else is read.
void checkFormat(const JsonField &root, const std::string &label, Manifest &m) {
  const JsonField format = root["format"];
  m.format = format.string();
  if (m.format != kFormatName)
    format.error("'{}' is not a GRETA bundle manifest (expected '{}')", m.format, kFormatName);
  const JsonField version = root["format_version"];
  if (!version.raw().is_number_integer())
    version.error("expected an integer, got {}", version.describe());
  std::string generator = "an unknown generator";
  if (auto gen = root.optional("generator"); gen && gen->raw().is_string())
    generator = "'" + gen->string() + "'";
  const int64_t found = version.raw().get<int64_t>();
  if (found != static_cast<int64_t>(kFormatVersion))
    fail("{}: bundle format version {} (written by {}) is not supported: this runtime reads "
         "format version {} only; recompile the model with a greta-compile of this release",
         label, found, generator, kFormatVersion);
  m.formatVersion = kFormatVersion;
}

//===--- Writing -----------------------------------------------------------===//

OrderedJson rowExtentJson(const RowExtent &rows) {
  if (rows.kind == RowExtent::Kind::Fixed)
    return rows.count;
  return formatRowExtent(rows);
}

OrderedJson paramJson(const ParamValue &value) {
  return std::visit(
      [](const auto &v) -> OrderedJson {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::monostate>)
          return nullptr;
        else
          return v;
      },
      value);
}

OrderedJson modelJson(const ModelParams &m) {
  OrderedJson j;
  j["arch"] = m.arch;
  j["layers"] = m.layers;
  j["dim"] = m.dim;
  j["heads"] = m.heads;
  j["kv_heads"] = m.kvHeads;
  j["head_dim"] = m.headDim;
  j["ffn"] = m.ffn;
  j["vocab"] = m.vocab;
  j["context"] = m.context;
  j["rope_theta"] = m.ropeTheta;
  j["rms_eps"] = m.rmsEps;
  j["rope_freqs"] = m.ropeFreqs ? OrderedJson(*m.ropeFreqs) : OrderedJson(nullptr);
  j["tied_embeddings"] = m.tiedEmbeddings;
  return j;
}

OrderedJson optionsJson(const CompileOptions &o) {
  OrderedJson j;
  j["audit"] = o.audit;
  j["fuse"] = o.fuse;
  j["forced_routes"] = OrderedJson::object();
  for (const auto &[op, route] : o.forcedRoutes)
    j["forced_routes"][op] = route;
  j["fp16_weights"] = o.fp16Weights;
  j["targets"] = o.targets;
  j["kv_cache_dtype"] = o.kvCacheDtype;
  return j;
}

OrderedJson weightsJson(const WeightTable &t) {
  OrderedJson j;
  j["mode"] = nameOf(t.mode);
  j["file"] = t.file;
  j["tensors"] = OrderedJson::array();
  for (const WeightEntry &w : t.tensors) {
    OrderedJson e;
    e["name"] = w.name;
    e["type"] = nameOf(w.type);
    e["dims"] = w.dims;
    e["layout"] = w.layout;
    e["offset"] = w.offset;
    e["bytes"] = w.bytes;
    if (!w.checksum.empty())
      e["checksum"] = w.checksum;
    j["tensors"].push_back(std::move(e));
  }
  return j;
}

OrderedJson kernelJson(const KernelSpec &k) {
  OrderedJson j;
  j["name"] = k.name;
  j["family"] = k.family;
  if (!k.route.empty())
    j["route"] = k.route;
  if (!k.source.empty())
    j["source"] = k.source;
  if (!k.entry.empty())
    j["entry"] = k.entry;
  if (k.earlyStart)
    j["early_start"] = true;
  j["params"] = OrderedJson::object();
  for (const auto &[key, value] : k.params)
    j["params"][key] = paramJson(value);
  if (!k.codeObjects.empty()) {
    j["code_objects"] = OrderedJson::array();
    for (const CodeObjectEntry &c : k.codeObjects) {
      OrderedJson e;
      e["target"] = c.target;
      e["file"] = c.file;
      e["key"] = c.key;
      e["bytes"] = c.bytes;
      e["checksum"] = c.checksum;
      j["code_objects"].push_back(std::move(e));
    }
  }
  return j;
}

OrderedJson launchesJson(const std::vector<Launch> &launches) {
  OrderedJson j = OrderedJson::array();
  for (const Launch &l : launches) {
    OrderedJson launch;
    launch["kernel"] = l.kernel;
    launch["args"] = OrderedJson::object();
    for (const auto &[arg, value] : l.args)
      launch["args"][arg] = value;
    launch["grid"] = OrderedJson::array();
    for (const GridDim &g : l.grid)
      launch["grid"].push_back({{"mul", g.mul}, {"add", g.add}, {"div", g.div}});
    j.push_back(std::move(launch));
  }
  return j;
}

OrderedJson auditsJson(const std::vector<AuditPoint> &audits) {
  OrderedJson j = OrderedJson::array();
  for (const AuditPoint &a : audits) {
    OrderedJson audit = {{"point", a.point},
                         {"buffer", a.buffer},
                         {"rows", rowExtentJson(a.rows)},
                         {"launch_index", a.launchIndex}};
    if (!a.input.empty())
      audit["input"] = a.input;
    j.push_back(std::move(audit));
  }
  return j;
}

OrderedJson phaseJson(const PhasePlan &p) {
  OrderedJson j;
  j["seq"] = p.seq.dynamic ? OrderedJson("dynamic") : OrderedJson(p.seq.fixed);
  j["logits"] = p.logits;
  j["launches"] = launchesJson(p.launches);
  j["audits"] = auditsJson(p.audits);
  if (!p.alternatives.empty()) {
    j["alternatives"] = OrderedJson::object();
    for (const auto &[key, alternative] : p.alternatives)
      j["alternatives"][key] = {{"launches", launchesJson(alternative.launches)},
                                {"audits", auditsJson(alternative.audits)}};
  }
  return j;
}

} // namespace

std::string manifestToJson(const Manifest &m) {
  OrderedJson j;
  j["format"] = m.format;
  j["format_version"] = m.formatVersion;
  j["generator"] = m.generator;
  j["source"] = {
      {"path", m.source.path}, {"size", m.source.size}, {"header_hash", m.source.headerHash}};
  j["model"] = modelJson(m.model);
  j["options"] = optionsJson(m.options);
  j["weights"] = weightsJson(m.weights);
  j["buffers"] = OrderedJson::array();
  for (const BufferSpec &b : m.buffers)
    j["buffers"].push_back({{"name", b.name},
                            {"kind", nameOf(b.kind)},
                            {"dtype", nameOf(b.dtype)},
                            {"rows", rowExtentJson(b.rows)},
                            {"cols", b.cols}});
  j["kernels"] = OrderedJson::array();
  for (const KernelSpec &k : m.kernels)
    j["kernels"].push_back(kernelJson(k));
  j["phases"] = {{"prefill", phaseJson(m.prefill)}, {"decode", phaseJson(m.decode)}};
  // Names are the compiler's; replace rather than throw on invalid UTF-8 so writing never fails
  // here (the validator already refused what matters).
  return j.dump(2, ' ', false, OrderedJson::error_handler_t::replace) + "\n";
}

Manifest parseManifest(std::string_view text, const std::string &label) {
  Json document;
  try {
    document = Json::parse(text, [&](int depth, Json::parse_event_t, Json &) {
      if (depth > kMaxJsonDepth)
        fail("{}: JSON nested deeper than {} levels; not a bundle manifest", label, kMaxJsonDepth);
      return true;
    });
  } catch (const Json::exception &e) {
    fail("{}: not valid JSON ({} bytes; truncated or edited?): {}", label, text.size(), e.what());
  }
  const JsonField root(document, "", label);
  if (!document.is_object())
    fail("{}: expected a JSON object at the top level, got {}", label, root.describe());

  Manifest m;
  checkFormat(root, label, m);
  m.generator = root["generator"].string();
  m.source = parseSource(root["source"]);
  m.model = parseModel(root["model"]);
  if (auto options = root.optional("options"))
    m.options = parseOptions(*options);
  m.weights = parseWeights(root["weights"]);
  for (const JsonField &buffer : root["buffers"].elements())
    m.buffers.push_back(parseBuffer(buffer));
  for (const JsonField &kernel : root["kernels"].elements())
    m.kernels.push_back(parseKernel(kernel));
  const JsonField phases = root["phases"];
  m.prefill = parsePhase(phases["prefill"]);
  m.decode = parsePhase(phases["decode"]);
  return m;
}

} // namespace greta::bundle
