//===- KernelEmitter.cpp - gk.kernel → HIP C++ source ---------------------===//
//
// Reads a gk.kernel's family, route, quant, tiles, params and bodies, turns them into the
// values and flags of its template, and expands it. Each family lists the constants it bakes;
// every constant comes with a comment that says what it is, and appears once, at the top of
// the source.
//
//===----------------------------------------------------------------------===//

#include "codegen/KernelEmitter.h"

#include "codegen/BodyEmitter.h"
#include "codegen/KernelABI.h"
#include "codegen/QuantFormats.h"
#include "codegen/TemplateExpander.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>
#include <cstdio>

using namespace mlir;
using mlir::gk::KernelFamily;
using mlir::gk::KernelRoute;

namespace greta::codegen {
namespace {

/// One baked constant: `constexpr <type> <name> = <value>; // <comment>`.
struct Constant {
  std::string type;
  std::string name;
  std::string value;
  std::string comment;
};

/// Rows of a gemv kernel's grid stored in one format (common/gemv_part.hip).
struct GemvPart {
  mlir::greta::QuantType quant;
  int64_t first;
  int64_t rows;
  Constant rowBytes; ///< kRowBytes of the format (set once the part is checked)
};

/// The block arguments of the fused bodies, as the emitted functions name them.
constexpr llvm::StringRef kPrologueArgs[] = {"x", "gamma", "inv_rms"};
constexpr llvm::StringRef kResidualEpilogueArgs[] = {"acc", "residual"};
constexpr llvm::StringRef kGateUpEpilogueArgs[] = {"gate", "up"};

/// Raw weight granules (16 bytes) per thread above which matmul_mma asks for two blocks per
/// compute unit (see matmulConstants).
constexpr int64_t kMaxRawGranulesPerThread = 6;

/// What attention_flash_mma's head_dim and tiles are whole multiples of: the k and n of every
/// target's matrix instruction divide 16.
constexpr int64_t kFlashMmaStep = 16;

/// Double-precision literal that reads back exactly (RoPE theta).
std::string formatDoubleLiteral(double value) {
  char text[40];
  std::snprintf(text, sizeof text, "%.17g", value);
  std::string literal = text;
  if (literal.find_first_of(".en") == std::string::npos)
    literal += ".0";
  return literal;
}

/// Stages of binary16 tiles in flight in matmul_mma_f16 at most: on wgmma, whose products run
/// across the barriers (two stages' at once in a ring of four or more), six.
constexpr int64_t kMaxStagesInFlight = 4;
constexpr int64_t kMaxWgmmaStagesInFlight = 6;

bool usesWeightMatrix(KernelFamily family) {
  return family == KernelFamily::Matmul || family == KernelFamily::MatmulGateUp ||
         family == KernelFamily::MatmulQKV || family == KernelFamily::LmHead;
}

/// Builds the template values of one kernel; reports problems on the op.
class KernelWriter {
public:
  KernelWriter(gk::KernelOp kernel, const TargetDesc &target)
      : kernel_(kernel), target_(target), family_(kernel.getFamily()),
        hasPrologue_(!kernel.getPrologue().empty()), hasEpilogue_(!kernel.getEpilogue().empty()),
        f16Weights_(kernel.hasF16Weights()) {}

  /// The target's matrix unit as far as this kernel's template can use it: flash attention
  /// runs on it only when head_dim and the tiles are whole instruction steps (16 on every
  /// target); otherwise the vector-ALU template serves any shape.
  MatrixUnit templateMatrixUnit() {
    if (family_ != KernelFamily::Attention || target_.matrixUnit == MatrixUnit::None)
      return target_.matrixUnit;
    auto headDim = dyn_cast_or_null<IntegerAttr>(
        kernel_.getParamsAttr() ? kernel_.getParamsAttr().get("head_dim") : Attribute());
    gk::TilesAttr tiles = kernel_.getEffectiveTiles();
    bool whole = headDim && headDim.getInt() % kFlashMmaStep == 0 &&
                 tiles.getTileM() % kFlashMmaStep == 0 && tiles.getTileN() % kFlashMmaStep == 0;
    return whole ? target_.matrixUnit : MatrixUnit::None;
  }

  FailureOr<EmittedKernel> emit() {
    EmittedKernel out;
    out.name = kernel_.getSymName().str();
    out.entry = toIdentifier(out.name);
    out.fileName = out.name + ".hip";
    out.templatePath = getTemplatePath(family_, kernel_.getRoute(), templateMatrixUnit(),
                                       f16Weights_, f16Cache());
    out.paramFields = getParamFields(family_, hasPrologue_, hasEpilogue_, f16Weights_);
    bool flashOnMatrixUnits = StringRef(out.templatePath).starts_with("attention_flash_mma");
    if (usesWeightMatrix(family_) || flashOnMatrixUnits) {
      bool f16Operands = out.templatePath == "matmul_mma" ||
                         out.templatePath == "matmul_mma_f16" || flashOnMatrixUnits;
      out.dtypeA = out.dtypeB = f16Operands ? "f16" : "f32";
      // The gemv decoders of some formats take the input as int16 (QuantFormat).
      if (out.templatePath == "matmul_gemv")
        out.dtypeA = getQuantFormat(*kernel_.getQuant()).gemvInputDtype.str();
      out.accumDtype = "f32";
    }

    FailureOr<int64_t> block = blockThreads();
    if (failed(block))
      return failure();
    out.blockThreads = *block;
    constant("int", "kBlock", std::to_string(*block), "threads per block (1-D)");
    ints_["kBlock"] = *block;
    if (failed(familyConstants()) || failed(kvCacheConstants()))
      return failure();
    if (failed(bodies()))
      return failure();
    if (failed(quantDecoder()))
      return failure();

    values_.values["ENTRY"] = out.entry;
    values_.values["BANNER"] = banner(out);
    values_.values["CONSTANTS"] = formatConstants() + kvValueAlias_;
    values_.values["PARAMS"] = paramsStruct();
    std::string error;
    std::optional<std::string> source = expandTemplate(out.templatePath, values_, error);
    if (!source)
      return kernel_.emitOpError("cannot be emitted: ") << error, failure();
    out.source = std::move(*source);
    // A template that waits for its producers (greta_prelude.h) may be started early; one that
    // does not is launched only after the launch before it has finished.
    out.earlyStart = out.source.find(kWaitForProducersCall) != std::string::npos;
    out.dynamicSharedBytes = dynamicSharedBytes_;
    return out;
  }

private:
  //===--- Params of the op ------------------------------------------------===//

  Attribute param(StringRef name) {
    DictionaryAttr params = kernel_.getParamsAttr();
    return params ? params.get(name) : Attribute();
  }

  /// The kernel's KV caches hold binary16 values (params.kv_dtype; kvCacheConstants checks it).
  bool f16Cache() { return kernel_.hasF16KVCaches(); }

  FailureOr<int64_t> intParam(StringRef name) {
    auto value = dyn_cast_or_null<IntegerAttr>(param(name));
    if (!value || value.getInt() <= 0)
      return kernel_.emitOpError("needs a positive integer params.")
                 << name << " to be emitted as a " << gk::stringifyKernelFamily(family_)
                 << " kernel",
             failure();
    return value.getInt();
  }

  FailureOr<double> floatParam(StringRef name) {
    auto value = dyn_cast_or_null<FloatAttr>(param(name));
    if (!value || !(value.getValueAsDouble() > 0) || !std::isfinite(value.getValueAsDouble()))
      return kernel_.emitOpError("needs a positive float params.")
                 << name << " to be emitted as a " << gk::stringifyKernelFamily(family_)
                 << " kernel",
             failure();
    return value.getValueAsDouble();
  }

  FailureOr<int64_t> blockThreads() {
    if (!param("block"))
      return kernel_.emitOpError("needs params.block (threads per block), set by "
                                 "greta-lower-to-kernels"),
             failure();
    FailureOr<int64_t> block = intParam("block");
    if (failed(block))
      return failure();
    if (*block % kBlockGranule != 0 || *block > 1024)
      return kernel_.emitOpError("params.block = ")
                 << *block << " must be a multiple of " << kBlockGranule
                 << " (whole warps at width 32 and 64) and at most 1024",
             failure();
    return *block;
  }

  //===--- Constants -------------------------------------------------------===//

  void constant(StringRef type, StringRef name, std::string value, StringRef comment) {
    constants_.push_back({type.str(), name.str(), std::move(value), comment.str()});
  }

  LogicalResult intConstant(StringRef param, StringRef name, StringRef comment) {
    FailureOr<int64_t> value = intParam(param);
    if (failed(value))
      return failure();
    constant("int", name, std::to_string(*value), comment);
    ints_[name] = *value;
    return success();
  }

  LogicalResult floatConstant(StringRef param, StringRef name, StringRef comment) {
    FailureOr<double> value = floatParam(param);
    if (failed(value))
      return failure();
    constant("float", name, formatFloatLiteral(static_cast<float>(*value)), comment);
    return success();
  }

  /// Row stride of a weight matrix whose rows hold `elements` values.
  LogicalResult rowBytesConstant(int64_t elements) {
    FailureOr<Constant> rowBytes = rowBytesOf(*kernel_.getQuant(), elements);
    if (failed(rowBytes))
      return failure();
    constants_.push_back(*rowBytes);
    return success();
  }

  /// kRowBytes of rows of `elements` values stored as `quant`.
  FailureOr<Constant> rowBytesOf(mlir::greta::QuantType quant, int64_t elements) {
    std::optional<int64_t> bytes = getRowBytes(quant, elements);
    if (!bytes || elements % kChunkElements != 0)
      return kernel_.emitOpError("weight rows of ")
                 << elements << " values are not whole " << getQuantFormat(quant).ggmlName
                 << " blocks of " << kChunkElements << "-value chunks",
             failure();
    return Constant{"i64", "kRowBytes", std::to_string(*bytes),
                    ("bytes per weight row (" + getQuantFormat(quant).ggmlName + ", layout " +
                     (quant == mlir::greta::QuantType::F16 ? "ggml or f16_rows" : "ggml") + ")")
                        .str()};
  }

  /// The weight format of v in a matmul_qkv whose v is stored unlike q and k (params.v_quant),
  /// else none.
  FailureOr<std::optional<mlir::greta::QuantType>> distinctVQuant() {
    Attribute attr = param("v_quant");
    if (!attr)
      return std::optional<mlir::greta::QuantType>();
    auto name = dyn_cast<StringAttr>(attr);
    std::optional<mlir::greta::QuantType> quant =
        name ? mlir::greta::symbolizeQuantType(name.getValue()) : std::nullopt;
    if (family_ != KernelFamily::MatmulQKV || !quant)
      return kernel_.emitOpError("params.v_quant must be a quant type name (q4_k, q6_k, ...) of "
                                 "a matmul_qkv kernel"),
             failure();
    return quant == kernel_.getQuant() ? std::nullopt : quant;
  }

  /// The gemv kernel's row parts (common/gemv_part.hip): all kN rows in the kernel's format,
  /// or q and k's rows, then v's in v's own.
  LogicalResult gemvParts() {
    FailureOr<std::optional<mlir::greta::QuantType>> vQuant = distinctVQuant();
    if (failed(vQuant))
      return failure();
    int64_t rows = ints_["kN"];
    if (*vQuant) {
      int64_t vRows = ints_["kNKV"];
      parts_.push_back({*kernel_.getQuant(), 0, rows - vRows, {}});
      parts_.push_back({**vQuant, rows - vRows, vRows, {}});
    } else {
      parts_.push_back({*kernel_.getQuant(), 0, rows, {}});
    }
    return success();
  }

  LogicalResult familyConstants() {
    if (kernel_.getQuant() && !f16Weights_) // a gemm on binary16 weights decodes none
      constant("int", "kChunk", std::to_string(kChunkElements),
               "weight values decoded at once (every block is whole chunks)");
    switch (family_) {
    case KernelFamily::Embedding:
      if (failed(intConstant("dim", "kDim", "values per row")) ||
          failed(intConstant("vocab", "kVocab", "table rows (token ids)")))
        return failure();
      return rowBytesConstant(ints_["kDim"]);
    case KernelFamily::RmsNorm:
    case KernelFamily::AddRmsNorm:
      if (failed(intConstant("dim", "kDim", "values per row")))
        return failure();
      return floatConstant("eps", "kEps", "RMSNorm epsilon");
    case KernelFamily::Matmul:
    case KernelFamily::MatmulGateUp:
    case KernelFamily::MatmulQKV:
    case KernelFamily::LmHead:
      return matmulConstants();
    case KernelFamily::Rope:
      if (failed(intConstant("heads", "kHeads", "heads per row")) ||
          failed(intConstant("head_dim", "kHeadDim", "values per head")))
        return failure();
      return thetaConstant();
    case KernelFamily::KVAppend:
      if (failed(intConstant("kv_heads", "kKVHeads", "key/value heads per row")))
        return failure();
      return intConstant("head_dim", "kHeadDim", "values per head");
    case KernelFamily::RopeKVAppend:
      if (failed(intConstant("heads", "kHeads", "query heads per row")) ||
          failed(intConstant("kv_heads", "kKVHeads", "key/value heads per row")) ||
          failed(intConstant("head_dim", "kHeadDim", "values per head")))
        return failure();
      return thetaConstant();
    case KernelFamily::Attention:
      return attentionConstants();
    case KernelFamily::SiluMul:
    case KernelFamily::Add:
      return intConstant("n", "kN", "values per row");
    case KernelFamily::CastF16:
      if (failed(intConstant("k", "kK", "values per row")))
        return failure();
      return hasPrologue_ ? floatConstant("eps", "kEps", "epsilon of the fused RMSNorm")
                          : success();
    case KernelFamily::DequantF16:
      if (failed(intConstant("k", "kK", "values per weight row")) ||
          failed(intConstant("n", "kN", "weight rows")))
        return failure();
      return rowBytesConstant(ints_["kK"]);
    case KernelFamily::AuditStats: {
      if (failed(intConstant("n", "kN", "values in the audited row")))
        return failure();
      auto isLogits = dyn_cast_or_null<BoolAttr>(param("is_logits"));
      constant("bool", "kIsLogits", isLogits && isLogits.getValue() ? "true" : "false",
               "the row is logits: record the top two");
      return success();
    }
    }
    llvm_unreachable("unknown KernelFamily");
  }

  /// For the families that read or write KV caches: their element type, `KVValue` in the Params
  /// (float, or binary16 bits as u16 when params.kv_dtype is f16; absent: f32). Templates read
  /// and write either through common/kv_cache.hip, and tell them apart by sizeof(KVValue).
  LogicalResult kvCacheConstants() {
    bool usesCache = llvm::any_of(
        getKernelArgs(family_, hasPrologue_, hasEpilogue_, f16Weights_),
        [](const KernelArg &arg) { return arg.data == ArgData::KVCache; });
    if (!usesCache)
      return success();
    auto dtype = dyn_cast_or_null<StringAttr>(param("kv_dtype"));
    if (param("kv_dtype") && (!dtype || (dtype.getValue() != "f32" && dtype.getValue() != "f16")))
      return kernel_.emitOpError("params.kv_dtype must be \"f32\" or \"f16\" (the KV caches' "
                                 "element type), got ")
                 << param("kv_dtype"),
             failure();
    kvValueAlias_ = f16Cache() ? "\nusing KVValue = u16; ///< a KV cache element: binary16 bits"
                               : "\nusing KVValue = float; ///< a KV cache element";
    return success();
  }

  LogicalResult thetaConstant() {
    FailureOr<double> theta = floatParam("theta");
    if (failed(theta))
      return failure();
    constant("double", "kTheta", formatDoubleLiteral(*theta), "RoPE base frequency");
    values_.flags["HAS_FREQS"] = static_cast<bool>(param("freqs"));
    return success();
  }

  /// kN, the weight rows of the grid: n, or for matmul_qkv the q, k and v rows in that order.
  LogicalResult outputColumnConstants() {
    if (family_ != KernelFamily::MatmulQKV)
      return intConstant("n", "kN", "output columns: weight rows");
    if (failed(intConstant("heads", "kHeads", "query heads")) ||
        failed(intConstant("kv_heads", "kKVHeads", "key/value heads")) ||
        failed(intConstant("head_dim", "kHeadDim", "values per head")) || failed(thetaConstant()))
      return failure();
    ints_["kNQ"] = ints_["kHeads"] * ints_["kHeadDim"];
    ints_["kNKV"] = ints_["kKVHeads"] * ints_["kHeadDim"];
    ints_["kN"] = ints_["kNQ"] + 2 * ints_["kNKV"];
    constant("int", "kNQ", "kHeads * kHeadDim", "q rows (output columns)");
    constant("int", "kNKV", "kKVHeads * kHeadDim", "k rows, and v rows");
    constant("int", "kN", "kNQ + 2 * kNKV", "weight rows of the grid: q's, then k's, then v's");
    return success();
  }

  LogicalResult matmulConstants() {
    if (failed(intConstant("k", "kK", "reduction length: values per weight row")) ||
        failed(outputColumnConstants()))
      return failure();
    bool gemv = *kernel_.getRoute() == KernelRoute::Gemv;
    // A gemv kernel's row stride belongs to each of its parts (gemvParts); a gemm on binary16
    // weights reads none, but its rows must still be whole blocks (dequant_f16 decodes them).
    if (!gemv && !f16Weights_ && failed(rowBytesConstant(ints_["kK"])))
      return failure();
    if (f16Weights_ && failed(rowBytesOf(*kernel_.getQuant(), ints_["kK"])))
      return failure();
    // On binary16 weights the prologue is applied by cast_f16, not by the kernel.
    if (hasPrologue_ && !f16Weights_ &&
        failed(floatConstant("eps", "kEps", "epsilon of the fused RMSNorm")))
      return failure();
    gk::TilesAttr tiles = kernel_.getEffectiveTiles();
    if (gemv) {
      constant("int", "kTileN", std::to_string(tiles.getTileN()), "output columns per block");
      constant("int", "kSplitK", std::to_string(tiles.getSplitK()),
               "blocks sharing one column's reduction");
      if (failed(gemvParts()))
        return failure();
      for (GemvPart &part : parts_) {
        FailureOr<Constant> rowBytes = rowBytesOf(part.quant, ints_["kK"]);
        if (failed(rowBytes) || failed(checkGemvTiles(tiles, part.quant)))
          return failure();
        part.rowBytes = *rowBytes;
      }
    } else {
      constant("int", "kTileM", std::to_string(tiles.getTileM()), "rows (tokens) per block");
      constant("int", "kTileN", std::to_string(tiles.getTileN()), "output columns per block");
      constant("int", "kTileK", std::to_string(tiles.getTileK()),
               "reduction values per shared-memory stage");
      int64_t weightRows = tiles.getTileN() * (family_ == KernelFamily::MatmulGateUp ? 2 : 1);
      bool matrixUnits = target_.matrixUnit != MatrixUnit::None;
      if (f16Weights_ && !matrixUnits)
        return kernel_.emitOpError("reads binary16 scratch weights, which needs a target with "
                                   "matrix units (")
                   << target_.name << " has none)",
               failure();
      if (matrixUnits && failed(checkMatrixTiles(tiles)))
        return failure();
      if (f16Weights_)
        return stagesInFlightConstant(tiles, weightRows);
      // matmul_mma: one stage of binary16 rows padded by 8 and one super-stage of raw weight
      // blocks (matmulMmaRawBytes); matmul_gemm: one stage of f32 rows padded by 1. Both keep
      // 1/rms per row.
      int64_t shared = matrixUnits ? (tiles.getTileM() + weightRows) * (tiles.getTileK() + 8) * 2 +
                                         weightRows * matmulMmaRawRowBytes(tiles.getTileK())
                                   : (tiles.getTileM() + weightRows) * (tiles.getTileK() + 1) * 4;
      shared += tiles.getTileM() * 4;
      // matmul_mma holds a super-stage of raw weights in registers (16-byte granules per
      // thread) until it is stored; past kMaxRawGranulesPerThread (Q6_K's 128 rows of 15) they
      // push the kernel beyond 128 registers, one block per SM, and the kernel asks for two
      // (a few spilled bytes; measured 1347 -> 863 us on Llama-3-8B's Q6_K down projection at
      // pp512, H200). Below it the cap only perturbs the schedule (gate_up measured 17 % slower).
      int64_t rawGranules = weightRows * matmulMmaRawRowBytes(tiles.getTileK()) / 16;
      values_.flags["TWO_BLOCKS"] =
          matrixUnits && llvm::divideCeil(rawGranules, ints_["kBlock"]) > kMaxRawGranulesPerThread;
      if (shared > kPortableSharedMemoryBytes)
        return kernel_.emitOpError("gemm tiles need ")
                   << shared << " bytes of shared memory; the templates stay within "
                   << kPortableSharedMemoryBytes,
               failure();
    }
    return success();
  }

  /// matmul_mma_f16's shared slots, in dynamic shared memory: as many stages of binary16 input
  /// and weight tiles (rows padded by 8 values) as fit the target's ring (f16Gemm.stageBytes, or
  /// soloStageBytes where the grid for a kPlannedPromptRows prompt holds at most a block per
  /// compute unit; at most kMaxStagesInFlight, or kMaxWgmmaStagesInFlight), at least two.
  LogicalResult stagesInFlightConstant(gk::TilesAttr tiles, int64_t weightRows) {
    // wgmma's tiles (common/wgmma_tile.hip): two warpgroups of 64 rows, one m64n128k16 over the
    // weight rows. The source keeps the mma path for a GPU without sm_90a's wgmma, so the slots
    // are sized for its padded rows, which hold the swizzled ones and their 1 KiB alignment.
    bool wgmma = target_.warpgroupMma && tiles.getTileM() == 128 && weightRows == 128 &&
                 tiles.getTileK() == 64 && ints_["kBlock"] == 256;
    values_.flags["WGMMA"] = wgmma;
    int64_t perStage = (tiles.getTileM() + weightRows) * (tiles.getTileK() + 8) * 2;
    int64_t plannedBlocks = plannedPromptBlocks(tiles.getTileM(), ints_["kN"], tiles.getTileN());
    int64_t budget = plannedBlocks <= target_.computeUnits ? target_.f16Gemm.soloStageBytes
                                                           : target_.f16Gemm.stageBytes;
    int64_t stages =
        std::min(wgmma ? kMaxWgmmaStagesInFlight : kMaxStagesInFlight, budget / perStage);
    if (stages < 2)
      return kernel_.emitOpError("gemm tiles need ")
                 << 2 * perStage
                 << " bytes of shared memory for two stages of binary16 tiles; " << target_.name
                 << "'s ring holds " << budget,
             failure();
    constant("int", "kStagesInFlight", std::to_string(stages),
             "stages of binary16 tiles in flight (shared slots)");
    dynamicSharedBytes_ = stages * perStage;
    return success();
  }

  /// Shared bytes per weight row of matmul_mma's raw tile (its kRawStride): a super-stage of
  /// max(tile_k, block) values, rounded up to 16-byte granules plus one (the copy starts at the
  /// granule holding the first byte).
  int64_t matmulMmaRawRowBytes(int64_t tileK) {
    const QuantFormat &format = getQuantFormat(*kernel_.getQuant());
    int64_t superK = std::max(tileK, format.blockElements);
    int64_t rawBytes = superK / format.blockElements * format.blockBytes;
    return 16 * ((rawBytes + 15) / 16 + 1);
  }

  /// matmul_gemv gives each warp whole weight rows at every warp width of the table, and each
  /// split-K block whole quant blocks of whole pieces of the reduction (a piece's inputs,
  /// quant_gemv/*.hip, lie within its block), whose inputs fit the staged range.
  LogicalResult checkGemvTiles(gk::TilesAttr tiles, mlir::greta::QuantType quant) {
    int64_t warps = ints_["kBlock"] / kNarrowestWarp;
    if (tiles.getTileN() % warps != 0)
      return kernel_.emitOpError("gemv tile_n = ")
                 << tiles.getTileN() << " is not a multiple of " << warps
                 << " (the block's warps at width " << kNarrowestWarp
                 << "): each warp reduces whole weight rows",
             failure();
    const QuantFormat &format = getQuantFormat(quant);
    int64_t k = ints_["kK"];
    int64_t unit = std::max(format.blockElements, format.gemvPieceValues);
    if (k % unit != 0 || tiles.getSplitK() > k / unit)
      return kernel_.emitOpError("gemv split_k = ")
                 << tiles.getSplitK() << " does not split K = " << k << " into whole "
                 << format.ggmlName << " blocks of " << unit << " values",
             failure();
    int64_t stagedBytes =
        gemvStagedBytes(format, llvm::divideCeil(k / unit, tiles.getSplitK()) * unit);
    if (stagedBytes > target_.gemv.maxStagedBytes)
      return kernel_.emitOpError("gemv split_k = ")
                 << tiles.getSplitK() << " stages " << stagedBytes
                 << " bytes of input per block; the template stages at most "
                 << target_.gemv.maxStagedBytes << " (split K further)",
             failure();
    return success();
  }

  /// The matmul_mma tiles must split into whole matrix instructions on every GPU of the table
  /// (a bundle's kernel runs on each), with matmul_mma's warp layout: two warps along M when
  /// tile_m holds two instruction tiles and the warp count is even, the rest along N.
  LogicalResult checkMatrixTiles(gk::TilesAttr tiles) {
    int64_t block = ints_["kBlock"];
    for (const TargetDesc &target : allTargets()) {
      if (target.matrixUnit == MatrixUnit::None)
        continue;
      const MatrixTile &mma = target.matrixTile;
      int64_t warps = block / target.warpSize;
      int64_t warpsM = tiles.getTileM() % (2 * mma.m) == 0 && warps % 2 == 0 ? 2 : 1;
      int64_t warpsN = warps / warpsM;
      if (block % target.warpSize != 0 || tiles.getTileM() % (warpsM * mma.m) != 0 ||
          tiles.getTileN() % (warpsN * mma.n) != 0 || tiles.getTileK() % mma.k != 0 ||
          tiles.getTileK() % 8 != 0)
        return kernel_.emitOpError("gemm tiles ")
                   << tiles.getTileM() << "x" << tiles.getTileN() << "x" << tiles.getTileK()
                   << " with " << block << " threads do not split into " << target.name
                   << "'s " << mma.m << "x" << mma.n << "x" << mma.k
                   << " matrix instructions over " << warpsM << "x" << warpsN << " warps",
               failure();
    }
    // matmul_mma stages raw weights a super-stage (max(tile_k, block) values) at a time: whole
    // stages of whole quant blocks.
    const QuantFormat &format = getQuantFormat(*kernel_.getQuant());
    int64_t superK = std::max(tiles.getTileK(), format.blockElements);
    if (superK % tiles.getTileK() != 0 || superK % format.blockElements != 0)
      return kernel_.emitOpError("gemm tile_k = ")
                 << tiles.getTileK() << " neither divides nor is a multiple of the "
                 << format.ggmlName << " block of " << format.blockElements
                 << " values (matmul_mma stages whole blocks)",
             failure();
    return success();
  }

  LogicalResult attentionConstants() {
    if (failed(intConstant("heads", "kHeads", "query heads per row")) ||
        failed(intConstant("kv_heads", "kKVHeads", "key/value heads")) ||
        failed(intConstant("head_dim", "kHeadDim", "values per head")))
      return failure();
    if (failed(floatConstant("scale", "kScale", "score scale (1 / sqrt(head_dim))")))
      return failure();
    gk::TilesAttr tiles = kernel_.getEffectiveTiles();
    if (*kernel_.getRoute() == KernelRoute::SplitKV)
      constant("int", "kSplits", std::to_string(tiles.getSplitK()),
               "blocks sharing one query row's keys (per KV head)");
    if (*kernel_.getRoute() == KernelRoute::Flash) {
      constant("int", "kTileM", std::to_string(tiles.getTileM()), "query rows per block");
      constant("int", "kTileN", std::to_string(tiles.getTileN()), "keys per shared-memory tile");
      int64_t headDim = ints_["kHeadDim"], tileM = tiles.getTileM(), tileN = tiles.getTileN();
      // attention_flash: K and V tiles in f32. attention_flash_mma: binary16 K (hi and lo) and
      // Vᵀ tiles (or the query tile, whichever is larger), binary16 probabilities, f32 scores,
      // and four words per query row; rows padded by 8 halves. attention_flash_mma_f16: two
      // buffers of binary16 K and V tiles (which hold the query tile first) and binary16
      // probabilities.
      int64_t shared = 2 * tileN * headDim * 4;
      if (templateMatrixUnit() != MatrixUnit::None && f16Cache()) {
        if (2 * tileM > 4 * tileN)
          return kernel_.emitOpError("flash tiles of ")
                     << tileM << " query rows stage in room for " << 2 * tileN
                     << " (tile_m must be at most twice tile_n)",
                 failure();
        shared = 4 * tileN * (headDim + 8) * 2 + tileM * (tileN + 8) * 2;
      } else if (templateMatrixUnit() != MatrixUnit::None) {
        int64_t staging =
            std::max(2 * tileN * (headDim + 8) + headDim * (tileN + 8), tileM * (headDim + 8));
        shared = staging * 2 + tileM * (tileN + 8) * 2 + tileM * tileN * 4 + tileM * 4 * 4;
      }
      if (shared > kPortableSharedMemoryBytes)
        return kernel_.emitOpError("flash tiles need ")
                   << shared << " bytes of shared memory for K and V; the templates stay within "
                   << kPortableSharedMemoryBytes,
               failure();
    }
    return success();
  }

  std::string formatConstants() {
    return "// Constants baked in from the IR.\n" + formatConstantLines(constants_);
  }

  /// One aligned `constexpr` line per constant, without the last line break (the template
  /// places it).
  static std::string formatConstantLines(const std::vector<Constant> &constants) {
    size_t width = 0;
    for (const Constant &c : constants)
      width = std::max(width, c.type.size() + c.name.size() + c.value.size());
    std::string text;
    for (const Constant &c : constants) {
      std::string line = "constexpr " + c.type + " " + c.name + " = " + c.value + ";";
      size_t used = c.type.size() + c.name.size() + c.value.size();
      text += line + std::string(width - used + 1, ' ') + "// " + c.comment + "\n";
    }
    if (!text.empty())
      text.pop_back();
    return text;
  }

  //===--- Bodies, flags, quant --------------------------------------------===//

  LogicalResult bodies() {
    values_.flags["PROLOGUE"] = hasPrologue_;
    bool gateUp = family_ == KernelFamily::MatmulGateUp;
    values_.flags["GATE_UP"] = gateUp;
    values_.flags["QKV"] = family_ == KernelFamily::MatmulQKV;
    values_.flags["ONE_MATRIX"] = family_ == KernelFamily::Matmul || family_ == KernelFamily::LmHead;
    values_.flags["RESIDUAL"] = hasEpilogue_ && !gateUp;
    values_.flags["PLAIN_OUTPUT"] = !hasEpilogue_ && family_ != KernelFamily::MatmulQKV;
    values_.flags["SPLIT_K"] = kernel_.getEffectiveTiles().getSplitK() > 1;
    values_.flags["LAST_ROW"] = family_ == KernelFamily::LmHead;
    if (!values_.flags.count("HAS_FREQS"))
      values_.flags["HAS_FREQS"] = false;
    if (!values_.flags.count("WGMMA"))
      values_.flags["WGMMA"] = false;
    std::string text;
    if (hasPrologue_) {
      FailureOr<std::string> fn =
          emitBodyFunction(kernel_.getPrologue(), "prologue", kPrologueArgs);
      if (failed(fn))
        return failure();
      text += "/// The fused prologue (gk.kernel prologue region): applied to each input value "
              "x, with the\n/// norm weight gamma at its column and the row's 1/rms.\n" +
              *fn;
    }
    if (hasEpilogue_) {
      FailureOr<std::string> fn =
          emitBodyFunction(kernel_.getEpilogue(), "epilogue",
                           gateUp ? ArrayRef<StringRef>(kGateUpEpilogueArgs)
                                  : ArrayRef<StringRef>(kResidualEpilogueArgs));
      if (failed(fn))
        return failure();
      if (!text.empty())
        text += "\n";
      text += gateUp ? "/// The fused epilogue (gk.kernel epilogue region): combines the gate "
                       "and up accumulators.\n"
                     : "/// The fused epilogue (gk.kernel epilogue region): combines the "
                       "accumulator with the residual.\n";
      text += *fn;
    }
    values_.values["BODIES"] =
        llvm::StringRef(text.empty() ? "// No fused bodies.\n" : text).rtrim('\n').str();
    return success();
  }

  LogicalResult quantDecoder() {
    std::optional<mlir::greta::QuantType> quant = kernel_.getQuant();
    if (!quant) {
      values_.values["QUANT"] = "";
      return success();
    }
    values_.flags["TWO_PARTS"] = parts_.size() == 2;
    if (parts_.empty()) { // a gemv kernel's decoders are in its parts
      FailureOr<std::string> text =
          expandSnippet(("quant/" + getQuantFormat(*quant).snippet).str(), values_);
      if (failed(text))
        return failure();
      values_.values["QUANT"] = *text;
    }
    std::string parts;
    for (size_t i = 0; i < parts_.size(); ++i) {
      FailureOr<std::string> part = gemvPartText(parts_[i], "part" + std::to_string(i));
      if (failed(part))
        return failure();
      parts += (i ? "\n" : "") + *part;
    }
    values_.values["GEMV_PARTS"] = parts;
    return success();
  }

  /// common/gemv_part.hip for `part`: its format's block decoder and gemv pieces, its row stride
  /// and its rows of the grid, in namespace `name`.
  FailureOr<std::string> gemvPartText(const GemvPart &part, StringRef name) {
    const QuantFormat &format = getQuantFormat(part.quant);
    TemplateValues values = values_;
    values.values["PART"] = name.str();
    values.values["PART_CONSTANTS"] = formatConstantLines(
        {part.rowBytes,
         {"int", "kPartFirst", std::to_string(part.first), "the part's first row of the grid"},
         {"int", "kPartRows", std::to_string(part.rows), "the part's rows"}});
    for (auto [key, path] : {std::pair<StringRef, std::string>{"QUANT", "quant/" + format.snippet.str()},
                             {"GEMV_QUANT", "quant_gemv/" + format.gemvSnippet.str()}}) {
      FailureOr<std::string> text = expandSnippet(path, values);
      if (failed(text))
        return failure();
      values.values[key] = *text;
    }
    return expandSnippet("common/gemv_part", values);
  }

  /// The template at `path` expanded with `values`, without its trailing line breaks (the
  /// including template places them).
  FailureOr<std::string> expandSnippet(StringRef path, const TemplateValues &values) {
    std::string error;
    std::optional<std::string> text = expandTemplate(path, values, error);
    if (!text)
      return kernel_.emitOpError("cannot be emitted: ") << error, failure();
    return StringRef(*text).rtrim('\n').str();
  }

  //===--- Params struct and banner ----------------------------------------===//

  static StringRef describe(const KernelArg &arg) {
    switch (arg.data) {
    case ArgData::F32Rows:
      return "f32 rows";
    case ArgData::I32Rows:
      return "i32, one per row";
    case ArgData::WeightBytes:
      return "weight matrix, storage layout";
    case ArgData::NormWeight:
      return "f32 vector weight";
    case ArgData::KVCache:
      return "KV cache, ctx rows";
    case ArgData::AuditRecord:
      return "audit record";
    case ArgData::F16Scratch:
      return "binary16 scratch, row after row";
    case ArgData::F16Rows:
      return "binary16 rows";
    }
    llvm_unreachable("unknown ArgData");
  }

  std::string paramsStruct() {
    struct Field {
      std::string type, name, comment;
    };
    std::vector<Field> fields;
    for (const KernelArg &arg : getKernelArgs(family_, hasPrologue_, hasEpilogue_, f16Weights_))
      fields.push_back({getFieldType(arg), arg.name.str(), describe(arg).str()});
    if (hasRopeFreqsField(family_))
      fields.push_back(
          {"const float *", "freqs", "frequency divisors (params.freqs), or null for none"});
    fields.push_back({"i32 ", "rows", "rows this launch processes"});
    fields.push_back({"i32 ", "ctx", "rows of the KV caches (0 when the family has none)"});
    size_t width = 0;
    for (const Field &f : fields)
      width = std::max(width, f.type.size() + f.name.size());
    std::string text = "/// The launch arguments, passed by value (manifest param_fields: " +
                       getParamFields(family_, hasPrologue_, hasEpilogue_, f16Weights_) +
                       ").\n/// Buffer pointers point at the first row the launch uses.\n"
                       "struct Params {\n";
    for (const Field &f : fields)
      text += "  " + f.type + f.name + ";" +
              std::string(width - f.type.size() - f.name.size() + 1, ' ') + "///< " + f.comment +
              "\n";
    return text + "};";
  }

  std::string banner(const EmittedKernel &out) {
    std::string family = gk::stringifyKernelFamily(family_).str();
    std::string what = "family " + family;
    if (std::optional<KernelRoute> route = kernel_.getRoute())
      what += ", route " + gk::stringifyKernelRoute(*route).str();
    if (std::optional<mlir::greta::QuantType> quant = kernel_.getQuant())
      what += ", weights " + getQuantFormat(*quant).ggmlName.str();
    std::string fused;
    if (hasPrologue_)
      fused += "prologue (input x · 1/rms · gamma, from the IR)";
    if (hasEpilogue_)
      fused += std::string(fused.empty() ? "" : " and ") +
               (family_ == KernelFamily::MatmulGateUp ? "epilogue silu(gate) · up"
                                                      : "epilogue acc + residual") +
               " (from the IR)";
    std::string text =
        "//===- " + out.fileName + " - generated by greta-compile (emit-hip) -===//\n";
    text += "//\n// gk.kernel @" + out.name + ": " + what + ".\n";
    if (!fused.empty())
      text += "// Fused: " + fused + ".\n";
    text += "// Made from codegen/templates/" + out.templatePath + ".hip with tiles of " +
            target_.name.str() + "; " + std::to_string(out.blockThreads) + " threads per block.\n";
    text += "// Entry: extern \"C\" __global__ void " + out.entry +
            "(const Params p). Do not edit: recompile the model.\n//\n";
    text += "//===" + std::string(70, '-') + "===//";
    return text;
  }

  gk::KernelOp kernel_;
  const TargetDesc &target_;
  KernelFamily family_;
  bool hasPrologue_;
  bool hasEpilogue_;
  bool f16Weights_; ///< reads its weights as binary16 scratch buffers (matmul_mma_f16)
  int64_t dynamicSharedBytes_ = 0; ///< what the template's extern __shared__ array needs
  std::vector<Constant> constants_;
  std::string kvValueAlias_; ///< `using KVValue = ...;` after the constants (KV cache families)
  std::vector<GemvPart> parts_; ///< gemv kernels only
  llvm::StringMap<int64_t> ints_;
  TemplateValues values_;
};

} // namespace

std::string getTemplatePath(KernelFamily family, std::optional<KernelRoute> route,
                            MatrixUnit matrixUnit, bool f16Weights, bool f16Cache) {
  if (usesWeightMatrix(family)) {
    if (route != KernelRoute::Gemm)
      return "matmul_gemv";
    if (f16Weights)
      return "matmul_mma_f16";
    return matrixUnit == MatrixUnit::None ? "matmul_gemm" : "matmul_mma";
  }
  if (family == KernelFamily::Attention) {
    if (route != KernelRoute::Flash)
      return "attention_split_kv";
    if (matrixUnit == MatrixUnit::None)
      return "attention_flash";
    return f16Cache ? "attention_flash_mma_f16" : "attention_flash_mma";
  }
  return gk::stringifyKernelFamily(family).str();
}

std::string toIdentifier(llvm::StringRef name) {
  std::string id;
  for (char c : name)
    id += llvm::isAlnum(c) || c == '_' ? c : '_';
  if (id.empty() || llvm::isDigit(id.front()))
    id.insert(id.begin(), '_');
  return id;
}

FailureOr<EmittedKernel> emitKernel(gk::KernelOp kernel, const TargetDesc &target) {
  return KernelWriter(kernel, target).emit();
}

} // namespace greta::codegen
