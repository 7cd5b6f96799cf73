//===- GretaAttrs.cpp - greta enumerations and attributes -----------------===//
//
// Quant-block geometry and the `#greta.model` parser, printer and verifier.
//
//===----------------------------------------------------------------------===//

#include "dialects/graph/IR/GretaAttrs.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::greta;

#include "dialects/graph/IR/GretaEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/graph/IR/GretaAttrs.cpp.inc"

void GretaDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialects/graph/IR/GretaAttrs.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// Quant types
//===----------------------------------------------------------------------===//

int64_t mlir::greta::getQuantBlockElements(QuantType type) {
  switch (type) {
  case QuantType::F32:
  case QuantType::F16:
  case QuantType::BF16:
    return 1;
  case QuantType::Q8_0:
  case QuantType::Q4_0:
    return 32;
  case QuantType::Q4_K:
  case QuantType::Q5_K:
  case QuantType::Q6_K:
    return 256;
  }
  llvm_unreachable("unknown QuantType");
}

bool mlir::greta::isBlockQuantized(QuantType type) { return getQuantBlockElements(type) > 1; }

//===----------------------------------------------------------------------===//
// #greta.model
//===----------------------------------------------------------------------===//

/// Keys of #greta.model, in printing order.
static constexpr StringLiteral kIntKeys[] = {"layers",   "dim", "heads", "kv_heads",
                                             "head_dim", "ffn", "vocab", "context"};
static constexpr StringLiteral kFloatKeys[] = {"rope_theta", "eps"};
static constexpr StringLiteral kTiedKey = "tied";

namespace {
/// The `key = value` pairs of a #greta.model as parsed, before defaults are filled in.
struct ModelFields {
  llvm::StringMap<int64_t> ints;
  llvm::StringMap<double> floats;
  std::optional<bool> tied;

  bool has(StringRef key) const {
    return ints.count(key) || floats.count(key) || (key == kTiedKey && tied);
  }
};
} // namespace

/// Parses one `key = value` of a #greta.model into `fields`.
static ParseResult parseModelField(AsmParser &parser, ModelFields &fields) {
  SMLoc loc = parser.getCurrentLocation();
  StringRef key;
  if (parser.parseKeyword(&key) || parser.parseEqual())
    return failure();
  if (fields.has(key))
    return parser.emitError(loc) << "#greta.model has '" << key << "' twice";
  if (llvm::is_contained(kIntKeys, key))
    return parser.parseInteger(fields.ints[key]);
  if (llvm::is_contained(kFloatKeys, key))
    return parser.parseFloat(fields.floats[key]);
  if (key == kTiedKey) {
    SMLoc valueLoc = parser.getCurrentLocation();
    StringRef value;
    if (parser.parseKeyword(&value))
      return failure();
    if (value != "true" && value != "false")
      return parser.emitError(valueLoc) << "'tied' must be true or false, got '" << value << "'";
    fields.tied = value == "true";
    return success();
  }
  return parser.emitError(loc) << "unknown #greta.model key '" << key << "'";
}

Attribute ModelAttr::parse(AsmParser &parser, Type) {
  SMLoc loc = parser.getCurrentLocation();
  ModelFields fields;
  if (parser.parseCommaSeparatedList(AsmParser::Delimiter::LessGreater,
                                     [&] { return parseModelField(parser, fields); }))
    return {};

  // head_dim may be left out when it is dim / heads.
  for (StringRef key : {"layers", "dim", "heads", "kv_heads", "ffn", "vocab", "context",
                        "rope_theta", "eps", "tied"}) {
    if (!fields.has(key)) {
      parser.emitError(loc) << "#greta.model is missing '" << key << "'";
      return {};
    }
  }
  int64_t dim = fields.ints["dim"], heads = fields.ints["heads"];
  if (!fields.ints.count("head_dim")) {
    if (heads <= 0 || dim % heads != 0) {
      parser.emitError(loc) << "dim (" << dim << ") is not a multiple of heads (" << heads
                            << "); give head_dim explicitly";
      return {};
    }
    fields.ints["head_dim"] = dim / heads;
  }
  return getChecked([&] { return parser.emitError(loc); }, parser.getContext(),
                    fields.ints["layers"], dim, heads, fields.ints["kv_heads"],
                    fields.ints["head_dim"], fields.ints["ffn"], fields.ints["vocab"],
                    fields.ints["context"], APFloat(fields.floats["rope_theta"]),
                    APFloat(fields.floats["eps"]), *fields.tied);
}

void ModelAttr::print(AsmPrinter &printer) const {
  printer << "<layers = " << getLayers() << ", dim = " << getDim() << ", heads = " << getHeads()
          << ", kv_heads = " << getKvHeads();
  if (getHeadDim() * getHeads() != getDim())
    printer << ", head_dim = " << getHeadDim();
  printer << ", ffn = " << getFfn() << ", vocab = " << getVocab()
          << ", context = " << getContextLength() << ", rope_theta = ";
  printer.printFloat(getRopeTheta());
  printer << ", eps = ";
  printer.printFloat(getEps());
  printer << ", tied = " << (getTied() ? "true" : "false") << ">";
}

LogicalResult ModelAttr::verify(function_ref<InFlightDiagnostic()> emitError, int64_t layers,
                                int64_t dim, int64_t heads, int64_t kvHeads, int64_t headDim,
                                int64_t ffn, int64_t vocab, int64_t contextLength,
                                APFloat ropeTheta, APFloat eps, bool tied) {
  const std::pair<StringRef, int64_t> counts[] = {
      {"layers", layers},    {"dim", dim}, {"heads", heads}, {"kv_heads", kvHeads},
      {"head_dim", headDim}, {"ffn", ffn}, {"vocab", vocab}, {"context", contextLength}};
  for (auto [key, value] : counts)
    if (value <= 0)
      return emitError() << "#greta.model '" << key << "' must be positive, got " << value;
  if (heads % kvHeads != 0)
    return emitError() << "#greta.model heads (" << heads << ") must be a multiple of kv_heads ("
                       << kvHeads << ")";
  if (headDim % 2 != 0)
    return emitError() << "#greta.model head_dim (" << headDim
                       << ") must be even: RoPE rotates pairs";
  if (!(ropeTheta.convertToDouble() > 0.0))
    return emitError() << "#greta.model rope_theta must be positive, got "
                       << ropeTheta.convertToDouble();
  if (!(eps.convertToDouble() > 0.0))
    return emitError() << "#greta.model eps must be positive, got " << eps.convertToDouble();
  return success();
}
