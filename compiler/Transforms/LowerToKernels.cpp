//===- LowerToKernels.cpp - greta phase functions → gk kernels and plans ---===//
//
// Walks each phase function in program order and turns every op into one launch of a kernel
// family (docs/bundle-format.md), creating the kernels (deduplicated), the buffers (reused by
// liveness) and the ordered plan. lowerOp dispatches each op to its family's lowering; kernel
// shapes come from the op and tiles from the target table (codegen/Targets.h).
//
// This is a conversion of a whole function into a different kind of program (a flat launch
// list over named buffers), not a local rewrite, so it is a walk with explicit state rather
// than a set of rewrite patterns.
//
//===----------------------------------------------------------------------===//

#include "compiler/Transforms/Passes.h"

#include "dialects/graph/IR/GretaVerify.h"

#include "codegen/QuantFormats.h"
#include "codegen/Targets.h"

#include "mlir/IR/AffineExpr.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/Debug.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>
#include <map>

#define DEBUG_TYPE "greta-lower-to-kernels"

namespace mlir::greta {
#define GEN_PASS_DEF_LOWERTOKERNELS
#include "compiler/Transforms/Passes.h.inc"
} // namespace mlir::greta

using namespace mlir;
using namespace mlir::greta;
using gk::BufferKind;
using gk::KernelFamily;
using gk::KernelRoute;
namespace cg = ::greta::codegen;
namespace checks = mlir::greta::checks;
using cg::TargetDesc;

namespace {

/// The input buffers the runtime fills (runtime/bundle/manifest.h kTokensBuffer, ...).
constexpr StringLiteral kTokensBuffer = "tokens";
constexpr StringLiteral kPositionsBuffer = "positions";
constexpr StringLiteral kLogitsBuffer = "logits";
/// Bytes of an audit record (runtime/bundle/audit_record.h kAuditRecordBytes).
constexpr int64_t kAuditRecordBytes = 64;
/// audit_stats: the smallest portable block (one CDNA wavefront, two NVIDIA warps), and the
/// values each of its threads hashes (codegen/templates/audit_stats.hip kDigestChunk). The
/// kernel is correct for any grid; one block per kAuditThreads · kAuditValuesPerThread values
/// gives every leaf of the digest its own thread, spread over many compute units.
constexpr int64_t kAuditThreads = cg::kBlockGranule;
constexpr int64_t kAuditValuesPerThread = 64;
/// A quantized product's tile_k is a multiple of this (the gk.kernel verifier's rule).
constexpr int64_t kMinQuantTileK = 32;
/// The gemm route for one row (lm_head): one matrix-instruction tile of rows (16 on every
/// target), which the vector-ALU layout (256 threads / 16) also tiles.
constexpr int64_t kOneRowGemmTileM = 16;
/// "About a wave": blocks at least this fraction of the compute units.
constexpr struct {
  int64_t numerator, denominator;
} kWaveFraction{3, 4};
/// Scratch buffers the binary16 weight matrices rotate through: three let the decode of a
/// matrix run beside the product of the one before it even after gate_up, which reads two
/// (one more matrix of binary16 values: 117 MB for Llama-3-8B, +2.4 % of its weights).
constexpr int64_t kScratchBuffers = 3;
/// The narrowest column tile of the gemm route on binary16 weights: gate_up's half of the
/// target's 128, which every matmul_mma_f16 warp layout tiles.
constexpr int64_t kMinF16GemmTileN = 64;
/// gemm-tiles' bounds: whole 16 x 16 instruction tiles (the widest of the targets' matrix
/// units), at most 256 rows or columns a block.
constexpr int64_t kGemmTileGranule = 16;
constexpr int64_t kMaxGemmTile = 256;

/// How many rows a buffer has: the phase's sequence length, or a fixed count.
struct RowForm {
  bool seq = true;
  int64_t count = 0; ///< fixed rows (seq == false)

  friend bool operator<(const RowForm &a, const RowForm &b) {
    return std::tie(a.seq, a.count) < std::tie(b.seq, b.count);
  }
  friend bool operator==(const RowForm &a, const RowForm &b) {
    return a.seq == b.seq && a.count == b.count;
  }
};

/// What a kernel is made of; equal specs share one gk.kernel.
struct KernelSpec {
  KernelFamily family;
  std::optional<KernelRoute> route;
  std::optional<QuantType> quant;
  std::optional<gk::TilesAttr> tiles;
  SmallVector<NamedAttribute> params;
  SmallVector<BufferKind> argKinds;
  /// Fused bodies: an RMSNorm prologue; a residual-add or SiLU·mul epilogue.
  bool normPrologue = false;
  MatmulEpilogue epilogue = MatmulEpilogue::None;
  /// Name parts after the phase and family ("q4_k", "4096x4096").
  SmallVector<std::string> nameParts;
};

/// Builds the fused bodies as arith/math regions.
class BodyBuilder {
public:
  explicit BodyBuilder(OpBuilder &builder, Location loc) : b_(builder), loc_(loc) {}

  /// (x, gamma, inv_rms) -> x * inv_rms * gamma: the RMSNorm applied per input value.
  void normPrologue(Region &region) {
    Block *block = entry(region, gk::kPrologueArgs);
    Value scaled = b_.create<arith::MulFOp>(loc_, block->getArgument(0), block->getArgument(2));
    Value y = b_.create<arith::MulFOp>(loc_, scaled, block->getArgument(1));
    b_.create<gk::YieldOp>(loc_, y);
  }

  /// (acc, residual) -> acc + residual.
  void residualEpilogue(Region &region) {
    Block *block = entry(region, gk::kEpilogueArgs);
    Value y = b_.create<arith::AddFOp>(loc_, block->getArgument(0), block->getArgument(1));
    b_.create<gk::YieldOp>(loc_, y);
  }

  /// (gate, up) -> gate / (1 + exp(-gate)) * up: SiLU of the gate times up.
  void siluMulEpilogue(Region &region) {
    Block *block = entry(region, gk::kEpilogueArgs);
    Value gate = block->getArgument(0);
    Value one = b_.create<arith::ConstantOp>(loc_, b_.getF32FloatAttr(1.0f));
    Value negated = b_.create<arith::NegFOp>(loc_, gate);
    Value exp = b_.create<math::ExpOp>(loc_, negated);
    Value denominator = b_.create<arith::AddFOp>(loc_, exp, one);
    Value silu = b_.create<arith::DivFOp>(loc_, gate, denominator);
    Value y = b_.create<arith::MulFOp>(loc_, silu, block->getArgument(1));
    b_.create<gk::YieldOp>(loc_, y);
  }

private:
  Block *entry(Region &region, unsigned arity) {
    Block *block = b_.createBlock(&region);
    for (unsigned i = 0; i < arity; ++i)
      block->addArgument(b_.getF32Type(), loc_);
    b_.setInsertionPointToStart(block);
    return block;
  }

  OpBuilder &b_;
  Location loc_;
};

/// Tiles asked for a gemv product by the pass's gemv-tiles option, in place of the policy's.
struct GemvTileChoice {
  int64_t tileN;
  int64_t splitK;
};
/// Tiles asked for a gemm product by the pass's gemm-tiles option.
struct GemmTileChoice {
  int64_t tileM;
  int64_t tileN;
};
/// Keyed by the weight's (K, N).
template <typename Choice> using TileChoices = std::map<std::pair<int64_t, int64_t>, Choice>;
using GemvTileChoices = TileChoices<GemvTileChoice>;
using GemmTileChoices = TileChoices<GemmTileChoice>;

/// A positive integer, all of `text`.
static bool parsePositive(StringRef text, int64_t &value) {
  return !text.getAsInteger(10, value) && value > 0;
}

/// Parses the entries of a tile option ("KxN=TILES"): `parseTiles` reads TILES into a choice and
/// says whether it parsed; an error names the option, the entry and the expected `form`.
template <typename Choice, typename ParseTiles>
static FailureOr<TileChoices<Choice>> parseTileOption(ModuleOp module, StringRef option,
                                                      StringRef form,
                                                      llvm::ArrayRef<std::string> entries,
                                                      ParseTiles parseTiles) {
  TileChoices<Choice> choices;
  for (const std::string &entry : entries) {
    auto [shape, tiles] = StringRef(entry).split('=');
    auto [kText, nText] = shape.split('x');
    int64_t k = 0, n = 0;
    Choice choice{};
    if (!parsePositive(kText, k) || !parsePositive(nText, n) || !parseTiles(tiles, choice)) {
      module.emitError() << "greta-lower-to-kernels: " << option << " entry '" << entry
                         << "': expected " << form;
      return failure();
    }
    choices[{k, n}] = choice;
  }
  return choices;
}

/// gemv-tiles entries: "KxN=TILE_N" or "KxN=TILE_N:SPLIT_K".
static FailureOr<GemvTileChoices> parseGemvTiles(ModuleOp module,
                                                 llvm::ArrayRef<std::string> entries) {
  return parseTileOption<GemvTileChoice>(
      module, "gemv-tiles",
      "KxN=TILE_N or KxN=TILE_N:SPLIT_K with positive integers, e.g. 14336x4096=32:2", entries,
      [](StringRef tiles, GemvTileChoice &choice) {
        auto [tileText, splitText] = tiles.split(':');
        choice.splitK = 1;
        return parsePositive(tileText, choice.tileN) &&
               (splitText.empty() || parsePositive(splitText, choice.splitK));
      });
}

/// gemm-tiles entries: "KxN=TILE_MxTILE_N".
static FailureOr<GemmTileChoices> parseGemmTiles(ModuleOp module,
                                                 llvm::ArrayRef<std::string> entries) {
  return parseTileOption<GemmTileChoice>(
      module, "gemm-tiles", "KxN=TILE_MxTILE_N with positive integers, e.g. 4096x1024=128x64",
      entries, [](StringRef tiles, GemmTileChoice &choice) {
        auto [mText, nText] = tiles.split('x');
        return parsePositive(mText, choice.tileM) && parsePositive(nText, choice.tileN);
      });
}

/// Module-wide state: buffers and kernels are shared by the phases.
class ModuleLowering {
public:
  ModuleLowering(ModuleOp module, const TargetDesc &target, GemvTileChoices gemvTiles,
                 GemmTileChoices gemmTiles)
      : module_(module), target_(target), gemvTiles_(std::move(gemvTiles)),
        gemmTiles_(std::move(gemmTiles)),
        builder_(module.getContext()), symbols_(module) {
    builder_.setInsertionPointToEnd(module.getBody());
  }

  LogicalResult lowerPhase(func::FuncOp func, Phase phase);
  /// Orders the new symbols: buffers, then kernels, then plans (prefill, decode).
  void finish();

private:
  friend class PhaseLowering;

  MLIRContext *ctx() { return module_.getContext(); }

  /// The buffer named `name`, created on first use.
  StringRef getOrCreateBuffer(StringRef name, BufferKind kind, std::optional<RowForm> rows,
                              int64_t cols, Type elementType, std::optional<int64_t> bytes,
                              FlatSymbolRefAttr source = {}) {
    if (buffers_.count(name))
      return buffers_.find(name)->first();
    AffineMapAttr shape;
    TypeAttr type;
    if (rows) {
      AffineExpr rowExpr =
          rows->seq ? getAffineDimExpr(0, ctx()) : getAffineConstantExpr(rows->count, ctx());
      SmallVector<AffineExpr> dims = {rowExpr};
      if (cols > 0)
        dims.push_back(getAffineConstantExpr(cols, ctx()));
      shape = AffineMapAttr::get(AffineMap::get(1, 0, dims, ctx()));
      type = TypeAttr::get(elementType);
    }
    auto buffer = builder_.create<gk::BufferOp>(
        module_.getLoc(), builder_.getStringAttr(name), gk::BufferKindAttr::get(ctx(), kind), shape,
        type, bytes ? builder_.getI64IntegerAttr(*bytes) : IntegerAttr(), source);
    newBuffers_.push_back(buffer);
    return buffers_.try_emplace(name, buffer).first->first();
  }

  /// A KV buffer: `ctx` rows (a symbol) of `cols` values.
  StringRef getOrCreateCacheBuffer(StringRef name, int64_t cols, Type elementType) {
    if (buffers_.count(name))
      return buffers_.find(name)->first();
    AffineMap shape = AffineMap::get(
        1, 1, {getAffineSymbolExpr(0, ctx()), getAffineConstantExpr(cols, ctx())}, ctx());
    auto buffer = builder_.create<gk::BufferOp>(
        module_.getLoc(), builder_.getStringAttr(name),
        gk::BufferKindAttr::get(ctx(), BufferKind::KV), AffineMapAttr::get(shape),
        TypeAttr::get(elementType), IntegerAttr(), FlatSymbolRefAttr());
    newBuffers_.push_back(buffer);
    return buffers_.try_emplace(name, buffer).first->first();
  }

  /// The next scratch buffer of binary16 values in turn (w16.0 .. w16.<kScratchBuffers - 1>),
  /// grown to hold at least `elements`: the dequant_f16 launches of the plan take them round
  /// robin, so each overwrites a matrix that a product kScratchBuffers - 1 decodes back read
  /// (the HIP executor runs the decodes beside the products they do not feed).
  StringRef nextScratchBuffer(int64_t elements) {
    std::string name = llvm::formatv("w16.{0}", scratchTurn_++ % kScratchBuffers).str();
    auto found = buffers_.find(name);
    if (found == buffers_.end())
      return getOrCreateBuffer(name, BufferKind::Scratch, RowForm{false, 1}, elements,
                               builder_.getF16Type(), std::nullopt);
    gk::BufferOp buffer = found->second;
    int64_t held = cast<AffineConstantExpr>(buffer.getShape()->getResult(1)).getValue();
    if (elements > held)
      buffer.setShapeAttr(AffineMapAttr::get(AffineMap::get(
          1, 0, {getAffineConstantExpr(1, ctx()), getAffineConstantExpr(elements, ctx())},
          ctx())));
    return found->first();
  }

  /// The weight buffer of the greta.weight `ref`: its bytes in the layout the kernels read.
  FailureOr<StringRef> getWeightBuffer(Operation *user, FlatSymbolRefAttr ref) {
    auto weight = symbols_.lookup<WeightOp>(ref.getValue());
    if (!weight)
      return user->emitOpError("names ") << ref << ", which is not a greta.weight", failure();
    WeightType type = weight.getType();
    QuantType stored = deviceQuant(weight);
    std::optional<int64_t> rowBytes = cg::getRowBytes(stored, type.getRowLength());
    if (!rowBytes)
      return weight.emitOpError("rows of ") << type.getRowLength() << " values are not whole "
                                            << stringifyQuantType(stored) << " blocks",
             failure();
    std::string name = ("w." + ref.getValue()).str();
    return getOrCreateBuffer(name, BufferKind::Weight, std::nullopt, 0, Type(),
                             *rowBytes * type.getNumRows(), ref);
  }

  /// The type kernels read a weight as: f16 under the fp16 policy, else its GGUF type.
  static QuantType deviceQuant(WeightOp weight) {
    return weight.getEffectivePolicy() == WeightPolicy::Fp16 ? QuantType::F16
                                                             : weight.getType().getQuant();
  }

  /// The kernel for `spec` in `phase`, created on first use.
  gk::KernelOp getOrCreateKernel(Phase phase, const KernelSpec &spec, Location loc);

  ModuleOp module_;
  const TargetDesc &target_;
  GemvTileChoices gemvTiles_;
  GemmTileChoices gemmTiles_;
  OpBuilder builder_;
  SymbolTable symbols_;
  llvm::StringMap<gk::BufferOp> buffers_;
  std::map<std::string, gk::KernelOp> kernelsByKey_;
  llvm::StringSet<> kernelNames_;
  SmallVector<gk::BufferOp> newBuffers_;
  int64_t scratchTurn_ = 0; ///< nextScratchBuffer's count of buffers handed out
  SmallVector<gk::KernelOp> newKernels_;
  SmallVector<gk::PlanOp> newPlans_;
  /// Activation buffers per (cols, rows), in creation order: the pool both phases draw from.
  std::map<std::pair<int64_t, RowForm>, SmallVector<std::string>> activationsByShape_;
};

/// The key that makes two kernels the same.
std::string kernelKey(MLIRContext *ctx, Phase phase, const KernelSpec &spec) {
  std::string key;
  llvm::raw_string_ostream os(key);
  os << stringifyPhase(phase) << "|" << gk::stringifyKernelFamily(spec.family) << "|"
     << (spec.route ? gk::stringifyKernelRoute(*spec.route) : "") << "|"
     << (spec.quant ? stringifyQuantType(*spec.quant) : "") << "|";
  if (spec.tiles)
    os << *spec.tiles;
  os << "|" << DictionaryAttr::get(ctx, spec.params) << "|" << gk::formatKinds(spec.argKinds) << "|"
     << spec.normPrologue << "|" << stringifyMatmulEpilogue(spec.epilogue);
  return key;
}

gk::KernelOp ModuleLowering::getOrCreateKernel(Phase phase, const KernelSpec &spec, Location loc) {
  std::string key = kernelKey(ctx(), phase, spec);
  if (auto it = kernelsByKey_.find(key); it != kernelsByKey_.end())
    return it->second;

  std::string base = (stringifyPhase(phase) + "_" + gk::stringifyKernelFamily(spec.family)).str();
  for (const std::string &part : spec.nameParts)
    base += "_" + part;
  std::string name = base;
  for (int suffix = 1; kernelNames_.count(name) || symbols_.lookup(name); ++suffix)
    name = base + "_" + std::to_string(suffix);
  kernelNames_.insert(name);

  SmallVector<Attribute> kinds = llvm::map_to_vector(spec.argKinds, [&](BufferKind kind) {
    return static_cast<Attribute>(gk::BufferKindAttr::get(ctx(), kind));
  });
  auto kernel = builder_.create<gk::KernelOp>(
      loc, builder_.getStringAttr(name), gk::KernelFamilyAttr::get(ctx(), spec.family),
      builder_.getArrayAttr(kinds),
      spec.route ? gk::KernelRouteAttr::get(ctx(), *spec.route) : gk::KernelRouteAttr(),
      spec.quant ? QuantTypeAttr::get(ctx(), *spec.quant) : QuantTypeAttr(),
      spec.tiles.value_or(gk::TilesAttr()), DictionaryAttr::get(ctx(), spec.params));
  {
    OpBuilder::InsertionGuard guard(builder_);
    BodyBuilder bodies(builder_, loc);
    if (spec.normPrologue)
      bodies.normPrologue(kernel.getPrologue());
    if (spec.epilogue == MatmulEpilogue::ResidualAdd)
      bodies.residualEpilogue(kernel.getEpilogue());
    else if (spec.epilogue == MatmulEpilogue::SiluMul)
      bodies.siluMulEpilogue(kernel.getEpilogue());
  }
  newKernels_.push_back(kernel);
  kernelsByKey_.emplace(std::move(key), kernel);
  return kernel;
}

/// Where a buffer kind sorts among the module's buffers: what the runtime fills first,
/// weights last.
static int bufferKindRank(BufferKind kind) {
  switch (kind) {
  case BufferKind::Input:
    return 0;
  case BufferKind::Activation:
    return 1;
  case BufferKind::Logits:
    return 2;
  case BufferKind::KV:
    return 3;
  case BufferKind::Audit:
    return 4;
  case BufferKind::Scratch:
    return 5;
  case BufferKind::Weight:
    return 6;
  }
  llvm_unreachable("unknown BufferKind");
}

void ModuleLowering::finish() {
  Block *body = module_.getBody();
  llvm::stable_sort(newBuffers_, [](gk::BufferOp a, gk::BufferOp b) {
    return bufferKindRank(a.getKind()) < bufferKindRank(b.getKind());
  });
  for (gk::BufferOp buffer : newBuffers_)
    buffer->moveBefore(body, body->end());
  for (gk::KernelOp kernel : newKernels_)
    kernel->moveBefore(body, body->end());
  for (gk::PlanOp plan : newPlans_)
    plan->moveBefore(body, body->end());
}

/// Attention's q, k and v products and the greta.rope_kv_append that reads them: one
/// matmul_qkv launch.
struct QKVGroup {
  SmallVector<MatmulOp, 3> matmuls; ///< q, k, v
  RopeKVAppendOp append;
};

/// One phase: value → buffer assignment with liveness, and the launches in order.
class PhaseLowering {
public:
  PhaseLowering(ModuleLowering &module, func::FuncOp func, Phase phase)
      : m_(module), func_(func), phase_(phase), b_(module.builder_) {}

  LogicalResult run();

private:
  MLIRContext *ctx() { return m_.ctx(); }
  bool isDecode() const { return phase_ == Phase::Decode; }

  //===--- Values and buffers ------------------------------------------------===//

  /// The rows of an activation value: its first dimension, as the bundle records rows.
  RowForm rowsOf(Value value) {
    int64_t rows = checks::getDim(value.getType(), 0);
    if (ShapedType::isDynamic(rows) || (isDecode() && rows == 1))
      return RowForm{true, 0};
    return RowForm{false, rows};
  }
  int64_t colsOf(Value value) { return checks::getDim(value.getType(), 1); }

  /// The grid expression of a launch's rows.
  AffineExpr rowsExpr(const RowForm &rows) {
    return rows.seq ? getAffineDimExpr(0, ctx()) : getAffineConstantExpr(rows.count, ctx());
  }

  StringRef bufferOf(Value value) { return buffer_.lookup(value); }

  /// A free activation buffer for `value`'s shape (or a new one), now holding `value`.
  StringRef allocate(Value value) {
    auto shape = std::make_pair(colsOf(value), rowsOf(value));
    SmallVector<std::string> &pool = m_.activationsByShape_[shape];
    for (const std::string &name : pool)
      if (!busy_.contains(name)) {
        return assign(value, name);
      }
    std::string name =
        shape.second.seq
            ? llvm::formatv("act.{0}.{1}", shape.first, pool.size()).str()
            : llvm::formatv("row{0}.{1}.{2}", shape.second.count, shape.first, pool.size()).str();
    pool.push_back(name);
    m_.getOrCreateBuffer(name, BufferKind::Activation, shape.second, shape.first, b_.getF32Type(),
                         std::nullopt);
    return assign(value, name);
  }

  /// `value` now lives in `name` (in place, or in a buffer it takes over).
  StringRef assign(Value value, StringRef name) {
    auto it = m_.buffers_.find(name);
    StringRef stored = it->first();
    buffer_[value] = stored;
    busy_.insert(stored);
    ++liveValues_[stored];
    return stored;
  }

  /// Allocates `result`, taking `operand`'s buffer when `operand` dies at `op` and nothing
  /// else holds it (the family may write its output over that input).
  StringRef allocateOver(Value result, Operation *op, ArrayRef<Value> candidates) {
    for (Value operand : candidates) {
      StringRef name = bufferOf(operand);
      if (name.empty() || pinned_.contains(name) || liveValues_.lookup(name) != 1 ||
          lastUse_.lookup(operand) != op || colsOf(operand) != colsOf(result) ||
          !(rowsOf(operand) == rowsOf(result)) ||
          m_.buffers_[name].getKind() != BufferKind::Activation)
        continue;
      if (llvm::count(op->getOperands(), operand) > 1)
        continue;
      // An audited result keeps the input it came from: the audit's CPU probe recomputes it.
      if (llvm::any_of(result.getUsers(), [](Operation *user) { return isa<AuditOp>(user); }))
        continue;
      return assign(result, name);
    }
    return allocate(result);
  }

  /// After `op`: releases the buffers of operands it was the last user of, and of results
  /// nothing uses.
  void release(Operation *op) {
    llvm::SmallDenseSet<Value> seen;
    auto drop = [&](Value value) {
      StringRef name = bufferOf(value);
      if (name.empty() || !seen.insert(value).second)
        return;
      if (--liveValues_[name] == 0 && !pinned_.contains(name))
        busy_.erase(name);
    };
    for (Value operand : op->getOperands())
      if (lastUse_.lookup(operand) == op)
        drop(operand);
    for (Value result : op->getResults())
      if (result.use_empty())
        drop(result);
  }

  //===--- Kernels and launches ----------------------------------------------===//

  NamedAttribute intParam(StringRef name, int64_t value) {
    return b_.getNamedAttr(name, b_.getI64IntegerAttr(value));
  }
  NamedAttribute floatParam(StringRef name, float value) {
    return b_.getNamedAttr(name, b_.getF32FloatAttr(value));
  }

  /// Appends a launch (or audit launch) of the kernel `spec` on `buffers`.
  void launch(Operation *op, KernelSpec spec, int64_t block, ArrayRef<StringRef> buffers,
              ArrayRef<AffineExpr> grid) {
    bool keepsCast = spec.family == KernelFamily::Matmul ||
                     spec.family == KernelFamily::MatmulGateUp ||
                     spec.family == KernelFamily::DequantF16 ||
                     spec.family == KernelFamily::CastF16;
    if (!keepsCast)
      castSource_.reset();
    spec.params.push_back(intParam("block", block));
    llvm::sort(spec.params, [](NamedAttribute a, NamedAttribute b) {
      return a.getName().strref() < b.getName().strref();
    });
    spec.argKinds.clear();
    for (StringRef buffer : buffers)
      spec.argKinds.push_back(m_.buffers_[buffer].getKind());
    gk::KernelOp kernel = m_.getOrCreateKernel(phase_, spec, op->getLoc());
    SmallVector<Attribute> refs = llvm::map_to_vector(buffers, [&](StringRef name) {
      return static_cast<Attribute>(FlatSymbolRefAttr::get(ctx(), name));
    });
    AffineMapAttr map = AffineMapAttr::get(AffineMap::get(1, 0, grid, ctx()));
    OpBuilder::InsertionGuard guard(b_);
    b_.setInsertionPointToEnd(&plan_.getBody().front());
    if (auto audit = dyn_cast<AuditOp>(op))
      b_.create<gk::AuditLaunchOp>(op->getLoc(), audit.getPointAttr(),
                                   FlatSymbolRefAttr::get(kernel), b_.getArrayAttr(refs),
                                   audit.getLayerAttr(), map);
    else
      b_.create<gk::LaunchOp>(op->getLoc(), FlatSymbolRefAttr::get(kernel), b_.getArrayAttr(refs),
                              map);
  }

  FailureOr<StringRef> weight(Operation *op, FlatSymbolRefAttr ref) {
    return m_.getWeightBuffer(op, ref);
  }

  /// A vector weight (norm gamma, rope freqs): kernels read it as f32.
  FailureOr<StringRef> vectorWeight(Operation *op, FlatSymbolRefAttr ref) {
    auto weightOp = m_.symbols_.lookup<WeightOp>(ref.getValue());
    if (weightOp && ModuleLowering::deviceQuant(weightOp) != QuantType::F32)
      return op->emitOpError("reads the vector weight ")
                 << ref << " as " << stringifyQuantType(ModuleLowering::deviceQuant(weightOp))
                 << "; the kernels read vector weights (norms, rope_freqs) as f32",
             failure();
    return weight(op, ref);
  }

  /// The type of the greta.kv_cache `ref` names; fails on `op` when it names something else.
  FailureOr<KVCacheType> cacheType(Operation *op, FlatSymbolRefAttr ref) {
    auto cache = m_.symbols_.lookup<KVCacheOp>(ref.getValue());
    if (!cache)
      return op->emitOpError("names ") << ref << ", which is not a greta.kv_cache", failure();
    return cache.getType();
  }

  /// The k and v buffers of the cache `ref` names, for a kernel `spec` that reads or writes them:
  /// a binary16 cache adds params.kv_dtype = "f16" and the name part "kv16" (f32, the
  /// original form, adds nothing).
  FailureOr<std::pair<StringRef, StringRef>> cacheBuffers(Operation *op, FlatSymbolRefAttr ref,
                                                          KernelSpec &spec) {
    FailureOr<KVCacheType> cache = cacheType(op, ref);
    if (failed(cache))
      return failure();
    KVCacheType type = *cache;
    Type dtype = type.getDtype();
    if (!dtype.isF32() && !dtype.isF16())
      return op->emitOpError("uses the KV cache ")
                 << ref << " of " << dtype << "; the kernels store KV caches as f32 or f16",
             failure();
    if (dtype.isF16()) {
      spec.params.push_back(b_.getNamedAttr("kv_dtype", b_.getStringAttr("f16")));
      spec.nameParts.push_back("kv16");
    }
    StringRef k = m_.getOrCreateCacheBuffer((ref.getValue() + ".k").str(), type.getRowLength(),
                                            type.getDtype());
    StringRef v = m_.getOrCreateCacheBuffer((ref.getValue() + ".v").str(), type.getRowLength(),
                                            type.getDtype());
    return std::make_pair(k, v);
  }

  /// Fails when `value` (updated in place by `op`) is used after `op`.
  LogicalResult requireLastUse(Operation *op, Value value, StringRef what) {
    if (lastUse_.lookup(value) == op)
      return success();
    return op->emitOpError("updates its ")
               << what
               << " in place, but the value is used again later (greta-lower-to-kernels "
                  "has no copy launch; rotate a value no other op reads)",
           failure();
  }

  LogicalResult lowerOp(Operation *op);
  LogicalResult lowerEmbedding(EmbeddingOp op);
  LogicalResult lowerRmsNorm(RmsNormOp op);
  LogicalResult lowerAddRmsNorm(AddRmsNormOp op);
  LogicalResult lowerMatmul(MatmulOp op);
  LogicalResult dequantToScratch(MatmulOp op, ArrayRef<StringRef> weights, QuantType quant,
                                 int64_t k, int64_t n, SmallVector<StringRef> &buffers);
  LogicalResult castInputToF16(MatmulOp op, int64_t k, SmallVector<StringRef> &buffers);
  LogicalResult addNormPrologue(MatmulOp op, KernelSpec &spec, SmallVector<StringRef> &buffers);
  std::optional<QKVGroup> findQKVGroup(MatmulOp first);
  LogicalResult lowerMatmulQKV(const QKVGroup &group);
  LogicalResult lowerLmHead(LmHeadOp op);
  LogicalResult lowerRope(RopeOp op);
  LogicalResult lowerKVAppend(KVAppendOp op);
  LogicalResult lowerRopeKVAppend(RopeKVAppendOp op);
  FailureOr<std::pair<StringRef, StringRef>> ropeKVAppendPart(RopeKVAppendOp op, StringRef q,
                                                              KernelSpec &spec);
  LogicalResult lowerAttention(AttentionOp op);
  LogicalResult lowerElementwise(Operation *op, KernelFamily family, Value lhs, Value rhs);
  LogicalResult lowerAudit(AuditOp op);

  /// Tiles and block of a matrix product of `k` x `n` in this phase (`f16Weights`: a gemm on
  /// dequant_f16's binary16 weights).
  FailureOr<std::pair<gk::TilesAttr, int64_t>>
  matrixTiles(Operation *op, KernelRoute route, QuantType quant, int64_t k, int64_t n, bool oneRow,
              bool gateUp = false, bool f16Weights = false);

  ModuleLowering &m_;
  func::FuncOp func_;
  Phase phase_;
  OpBuilder &b_;
  gk::PlanOp plan_;
  DenseMap<Value, StringRef> buffer_;
  DenseMap<Value, Operation *> lastUse_;
  llvm::StringMap<int> liveValues_;
  llvm::StringSet<> busy_;
  llvm::StringSet<> pinned_;
  /// Ops already lowered as part of an earlier op's launch (a matmul_qkv's k, v and
  /// rope_kv_append).
  llvm::SmallPtrSet<Operation *, 8> lowered_;
  /// What x16.K holds since the last cast_f16 launch: the binary16 prologue(input) of that
  /// cast. The q, k and v products of one input then share one cast; any launch but a matmul's
  /// own (which writes only its output, checked) or a dequant_f16 forgets it.
  struct CastF16Source {
    std::string input;
    Attribute norm;
    int64_t k;
    bool operator==(const CastF16Source &) const = default;
  };
  std::optional<CastF16Source> castSource_;
};

LogicalResult PhaseLowering::run() {
  Block &body = func_.getBody().front();
  if (func_.getNumArguments() != 2)
    return func_.emitOpError("phase function takes (tokens, positions); it has ")
               << func_.getNumArguments() << " arguments",
           failure();
  for (Operation &op : body)
    for (Value operand : op.getOperands())
      lastUse_[operand] = &op;

  // Inputs are the runtime's buffers; they live for the whole phase.
  StringRef tokens = m_.getOrCreateBuffer(kTokensBuffer, BufferKind::Input, RowForm{true, 0}, 0,
                                          b_.getI32Type(), std::nullopt);
  StringRef positions = m_.getOrCreateBuffer(kPositionsBuffer, BufferKind::Input, RowForm{true, 0},
                                             0, b_.getI32Type(), std::nullopt);
  assign(func_.getArgument(0), tokens);
  assign(func_.getArgument(1), positions);
  pinned_.insert(tokens);
  pinned_.insert(positions);

  // Values that must survive the phase: what it returns and what it audits.
  Operation *terminator = body.getTerminator();
  auto pinIfPresent = [&](Value value) {
    if (StringRef name = bufferOf(value); !name.empty())
      pinned_.insert(name);
  };

  {
    OpBuilder::InsertionGuard guard(b_);
    b_.setInsertionPointToEnd(m_.module_.getBody());
    plan_ = b_.create<gk::PlanOp>(func_.getLoc(), b_.getStringAttr(stringifyPhase(phase_)));
    b_.createBlock(&plan_.getBody());
  }
  m_.newPlans_.push_back(plan_);

  for (Operation &op : body.without_terminator()) {
    if (!lowered_.contains(&op) && failed(lowerOp(&op)))
      return failure();
    for (Value result : op.getResults())
      if (llvm::is_contained(terminator->getOperands(), result))
        pinIfPresent(result);
    release(&op);
  }
  for (Value returned : terminator->getOperands())
    if (bufferOf(returned) != kLogitsBuffer)
      return terminator->emitOpError("returns a value that is not the logits of a "
                                     "greta.lm_head; a phase returns its logits"),
             failure();
  return success();
}

LogicalResult PhaseLowering::lowerOp(Operation *op) {
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case([&](EmbeddingOp o) { return lowerEmbedding(o); })
      .Case([&](RmsNormOp o) { return lowerRmsNorm(o); })
      .Case([&](AddRmsNormOp o) { return lowerAddRmsNorm(o); })
      .Case([&](MatmulOp o) { return lowerMatmul(o); })
      .Case([&](LmHeadOp o) { return lowerLmHead(o); })
      .Case([&](RopeOp o) { return lowerRope(o); })
      .Case([&](KVAppendOp o) { return lowerKVAppend(o); })
      .Case([&](RopeKVAppendOp o) { return lowerRopeKVAppend(o); })
      .Case([&](AttentionOp o) { return lowerAttention(o); })
      .Case([&](SiluMulOp o) {
        return lowerElementwise(op, KernelFamily::SiluMul, o.getGate(), o.getUp());
      })
      .Case([&](AddOp o) {
        return lowerElementwise(op, KernelFamily::Add, o.getLhs(), o.getRhs());
      })
      .Case([&](AuditOp o) { return lowerAudit(o); })
      .Default([](Operation *other) {
        return other->emitOpError("has no kernel family in greta-lower-to-kernels (a phase "
                                  "function holds greta ops only)"),
               failure();
      });
}

LogicalResult PhaseLowering::lowerEmbedding(EmbeddingOp op) {
  auto weightOp = m_.symbols_.lookup<WeightOp>(op.getWeight());
  FailureOr<StringRef> table = weight(op, op.getWeightAttr());
  if (!weightOp || failed(table))
    return failure();
  QuantType quant = ModuleLowering::deviceQuant(weightOp);
  int64_t dim = weightOp.getType().getRowLength();
  StringRef out = allocate(op.getResult());
  KernelSpec spec{KernelFamily::Embedding,
                  std::nullopt,
                  quant,
                  std::nullopt,
                  {intParam("dim", dim), intParam("vocab", weightOp.getType().getNumRows())},
                  {},
                  false,
                  MatmulEpilogue::None,
                  {stringifyQuantType(quant).str(), "d" + std::to_string(dim)}};
  launch(op, spec, m_.target_.rowThreads, {bufferOf(op.getTokens()), *table, out},
         {rowsExpr(rowsOf(op.getResult()))});
  return success();
}

LogicalResult PhaseLowering::lowerRmsNorm(RmsNormOp op) {
  FailureOr<StringRef> gamma = vectorWeight(op, op.getWeightAttr());
  if (failed(gamma))
    return failure();
  StringRef x = bufferOf(op.getInput());
  StringRef out = allocateOver(op.getResult(), op, {op.getInput()});
  int64_t dim = colsOf(op.getInput());
  KernelSpec spec{KernelFamily::RmsNorm,
                  std::nullopt,
                  std::nullopt,
                  std::nullopt,
                  {intParam("dim", dim), floatParam("eps", op.getEps().convertToFloat())},
                  {},
                  false,
                  MatmulEpilogue::None,
                  {"d" + std::to_string(dim)}};
  launch(op, spec, m_.target_.rowThreads, {x, *gamma, out}, {rowsExpr(rowsOf(op.getResult()))});
  return success();
}

LogicalResult PhaseLowering::lowerAddRmsNorm(AddRmsNormOp op) {
  FailureOr<StringRef> gamma = vectorWeight(op, op.getWeightAttr());
  if (failed(gamma))
    return failure();
  StringRef a = bufferOf(op.getLhs()), bIn = bufferOf(op.getRhs());
  StringRef sum = allocateOver(op.getSum(), op, {op.getLhs(), op.getRhs()});
  StringRef out = allocate(op.getNormed());
  int64_t dim = colsOf(op.getLhs());
  KernelSpec spec{KernelFamily::AddRmsNorm,
                  std::nullopt,
                  std::nullopt,
                  std::nullopt,
                  {intParam("dim", dim), floatParam("eps", op.getEps().convertToFloat())},
                  {},
                  false,
                  MatmulEpilogue::None,
                  {"d" + std::to_string(dim)}};
  launch(op, spec, m_.target_.rowThreads, {a, bIn, *gamma, sum, out},
         {rowsExpr(rowsOf(op.getNormed()))});
  return success();
}

/// The fraction of `slots` resident blocks that `blocks` keep busy over their waves.
static double waveEfficiency(int64_t blocks, int64_t slots) {
  return static_cast<double>(blocks) /
         static_cast<double>(llvm::divideCeil(blocks, slots) * slots);
}

/// A tile of fewer rows than `tileN` (a multiple of `step` above tileN / 2) when it fills the
/// waves of resident blocks much better: a launch lasts as many waves as it starts, however
/// empty the last. Llama-3-8B's q/k/v GEMV (6144 rows) takes 24 rows a block: 256 blocks, one
/// full wave on 132 compute units, where 32 rows leave 192 (tg128 330.5 vs 326.6 and 328.8,
/// H200); 16 rows (384 blocks, 1.5 waves) measured 324.4. Fewer rows per block cost fixed work
/// per block (the input's staging), so a smaller tile must gain more than kMinGain.
static int64_t fillLastWave(int64_t n, int64_t tileN, int64_t step, int64_t slots) {
  constexpr double kMinGain = 0.1;
  int64_t best = tileN;
  double bestEfficiency = waveEfficiency(llvm::divideCeil(n, tileN), slots);
  for (int64_t tile = tileN - step; tile > tileN / 2; tile -= step) {
    double efficiency = waveEfficiency(llvm::divideCeil(n, tile), slots);
    if (efficiency > bestEfficiency + kMinGain) {
      best = tile;
      bestEfficiency = efficiency;
    }
  }
  return best;
}

FailureOr<std::pair<gk::TilesAttr, int64_t>> PhaseLowering::matrixTiles(Operation *op,
                                                                        KernelRoute route,
                                                                        QuantType quant, int64_t k,
                                                                        int64_t n, bool oneRow,
                                                                        bool gateUp,
                                                                        bool f16Weights) {
  const auto &format = cg::getQuantFormat(quant);
  if (route == KernelRoute::Gemv) {
    const auto &gemv = m_.target_.gemv;
    if (k % cg::kChunkElements != 0 || k % format.gemvPieceValues != 0)
      return op->emitOpError("reduces over K = ")
                 << k << ", not a multiple of " << cg::kChunkElements << " and of "
                 << format.gemvPieceValues
                 << " (the gemv kernels decode weights in chunks and pieces of that many values)",
             failure();
    // One row: enough blocks for a wave over the compute units, first by fewer weight rows per
    // block (down to one per 32-wide warp), then by splitting K across blocks. Rows of at least
    // gemv.splitFirstK values split K first: every block stages its whole range of the input,
    // so halving the rows per block doubles the launch's staging while halving the range keeps
    // it, and a warp's rows share each staged input it reads.
    int64_t tileN = gemv.maxTileN;
    int64_t minTileN = gemv.threads / cg::kNarrowestWarp;
    const bool narrowTiles = oneRow && k < gemv.splitFirstK;
    while (narrowTiles && static_cast<int64_t>(llvm::divideCeil(n, tileN)) < gemv.minBlocks &&
           tileN / 2 >= minTileN && (tileN / 2) % minTileN == 0)
      tileN /= 2;
    if (narrowTiles)
      tileN = fillLastWave(n, tileN, minTileN, gemv.residentBlocks);
    // Many waves of blocks (the LM head: 4008 of 32 rows for 264 resident on an H200): twice the
    // rows per block, where a warp's rows stay within a gate_up warp's eight, so each block stages
    // its input once for twice the rows. Measured on an H200: Llama-3-8B's LM head at 64 rows,
    // tg128 365.1 -> 367.9 tok/s (16 rows: 360.6).
    constexpr int64_t kManyWaves = 4, kMaxRowsPerWarp = 8;
    if (oneRow && static_cast<int64_t>(llvm::divideCeil(n, tileN)) >=
                      kManyWaves * gemv.residentBlocks &&
        2 * tileN / (gemv.threads / m_.target_.warpSize) <= kMaxRowsPerWarp)
      tileN *= 2;
    int64_t blocks = llvm::divideCeil(n, tileN);
    // Split-K ranges are whole units (quant blocks of whole pieces: a piece's inputs lie within
    // its block, not within a run of its own size); a block stages its range of the input, so
    // long rows split until the longest range fits.
    int64_t unit = std::max(format.blockElements, format.gemvPieceValues);
    int64_t units = k / unit;
    auto stagedBytes = [&](int64_t split) {
      return cg::gemvStagedBytes(format,
                                 static_cast<int64_t>(llvm::divideCeil(units, split)) * unit);
    };
    int64_t splitK = 1;
    while (stagedBytes(splitK) > gemv.maxStagedBytes && splitK * 2 <= units)
      splitK *= 2;
    if (stagedBytes(splitK) > gemv.maxStagedBytes)
      return op->emitOpError("reduces over K = ")
                 << k << ", which no split into whole " << format.ggmlName
                 << " blocks fits the gemv route's staged input of " << gemv.maxStagedBytes
                 << " bytes",
             failure();
    while (oneRow && blocks * splitK < gemv.minBlocks && splitK * 2 <= gemv.maxSplitK &&
           splitK * 2 <= units)
      splitK *= 2;
    if (auto chosen = m_.gemvTiles_.find({k, n}); chosen != m_.gemvTiles_.end()) {
      // Whole warps of rows on every target (the narrowest warp included), no more rows than
      // threads (a split tile's last block sums one row per thread), K split into whole units,
      // and a staged range that fits.
      tileN = chosen->second.tileN;
      splitK = chosen->second.splitK;
      if (tileN % minTileN != 0 || tileN > gemv.threads || splitK > units ||
          stagedBytes(splitK) > gemv.maxStagedBytes)
        return op->emitOpError("gemv-tiles ")
                   << k << "x" << n << "=" << tileN << ":" << splitK << ": tile_n must be a "
                   << "multiple of " << minTileN << " up to " << gemv.threads
                   << ", and split_k at most " << units << " with a staged range of at most "
                   << gemv.maxStagedBytes << " bytes",
               failure();
    }
    int64_t tileK = std::max<int64_t>(kMinQuantTileK, format.blockElements);
    return std::make_pair(gk::TilesAttr::get(ctx(), 1, tileN, tileK, splitK), gemv.threads);
  }
  const auto &gemm = f16Weights ? m_.target_.f16Gemm : m_.target_.gemm;
  // The binary16 gemm takes narrower stages where K is not a whole number of the target's.
  int64_t tileK = f16Weights && k % gemm.tileK != 0 ? kMinQuantTileK : gemm.tileK;
  if (k % tileK != 0)
    return op->emitOpError("reduces over K = ")
               << k << ", not a multiple of the gemm route's tile_k = " << tileK << " ("
               << m_.target_.name << ")",
           failure();
  int64_t tileM = oneRow ? kOneRowGemmTileM : gemm.tileM;
  // gate_up stages gate and up rows of its columns: half the columns keep the weight rows (and
  // the shared memory) of a plain matmul's block.
  int64_t tileN = gateUp ? gemm.tileN / 2 : gemm.tileN;
  // One with fewer column tiles than an eighth of the compute units takes half-width tiles
  // (not below kMinF16GemmTileN): Llama-3-8B's 1024-wide k and v products made 64 blocks at
  // pp512, a quarter of what an H200 holds. Measured there: k and v 59.6 -> 36.4 µs each, pp512
  // 11,779 -> 12,196 tok/s; the 4096-wide products at 64 columns lost (q/o 96 -> 149-177 µs).
  while (f16Weights && !gateUp && tileN / 2 >= kMinF16GemmTileN &&
         static_cast<int64_t>(llvm::divideCeil(n, tileN)) * 8 < m_.target_.computeUnits)
    tileN /= 2;
  // On binary16 weights, a product whose grid still holds about a wave of blocks at twice the
  // rows for a cg::kPlannedPromptRows prompt takes them (each weight tile then serves twice the
  // tokens); one with fewer keeps them, or its grid would leave compute units idle. Measured at
  // pp512 on an H200: gate_up (224 column tiles) 18.8 -> 16.4 ms (session 7); the 4096-wide
  // q, o and down (32 column tiles: 128 blocks of 128 rows on 132 SMs) 13.7 -> 13.1 ms with
  // 64-value stages (session 10; with the 32-value stages and two-stage ring of session 7 they
  // had lost, 20.1 -> 27.3 ms); the 1024-wide k and v (64 blocks) keep 64 rows.
  int64_t doubledRowBlocks = cg::plannedPromptBlocks(2 * tileM, n, tileN);
  if (f16Weights && !oneRow &&
      doubledRowBlocks * kWaveFraction.denominator >=
                        m_.target_.computeUnits * kWaveFraction.numerator)
    tileM *= 2;
  if (auto chosen = m_.gemmTiles_.find({k, n}); chosen != m_.gemmTiles_.end()) {
    // Whole instruction tiles of the widest matrix unit (16 x 16) up to 256; the emitter checks
    // what the target's template makes of them (warps, shared memory).
    tileM = chosen->second.tileM;
    tileN = chosen->second.tileN;
    if (tileM % kGemmTileGranule != 0 || tileN % kGemmTileGranule != 0 ||
        tileM > kMaxGemmTile || tileN > kMaxGemmTile)
      return op->emitOpError("gemm-tiles ")
                 << k << "x" << n << "=" << tileM << "x" << tileN << ": tile_m and tile_n must "
                 << "be multiples of " << kGemmTileGranule << " up to " << kMaxGemmTile,
             failure();
  }
  return std::make_pair(gk::TilesAttr::get(ctx(), tileM, tileN, tileK, 1), gemm.threads);
}

/// A matmul's RMSNorm prologue, if it has one: the norm weight as the kernel's trailing
/// argument, its epsilon, and "norm" in the kernel name.
LogicalResult PhaseLowering::addNormPrologue(MatmulOp op, KernelSpec &spec,
                                             SmallVector<StringRef> &buffers) {
  if (!op.hasNormPrologue())
    return success();
  FailureOr<StringRef> gamma = vectorWeight(op, op.getNormWeightAttr());
  if (failed(gamma))
    return failure();
  buffers.push_back(*gamma);
  spec.params.push_back(floatParam("eps", op.getNormEps()->convertToFloat()));
  spec.nameParts.push_back("norm");
  return success();
}

/// "4096x14336"
static std::string matrixName(int64_t k, int64_t n) {
  return std::to_string(k) + "x" + std::to_string(n);
}

LogicalResult PhaseLowering::lowerMatmul(MatmulOp op) {
  auto weightOp = m_.symbols_.lookup<WeightOp>(op.getWeight());
  FailureOr<StringRef> w = weight(op, op.getWeightAttr());
  if (!weightOp || failed(w))
    return failure();
  if (!op.getRoute())
    return op.emitOpError("has no route; run greta-select-routes before lowering"), failure();
  if (std::optional<QKVGroup> group = findQKVGroup(op))
    return lowerMatmulQKV(*group);
  KernelRoute route = *op.getRoute() == Route::Gemv ? KernelRoute::Gemv : KernelRoute::Gemm;
  QuantType quant = ModuleLowering::deviceQuant(weightOp);
  int64_t k = colsOf(op.getInput()), n = colsOf(op.getResult());
  bool gateUp = op.getEpilogue() == MatmulEpilogue::SiluMul;
  RowForm rows = rowsOf(op.getResult());
  bool oneRow = !rows.seq ? rows.count == 1 : isDecode();

  SmallVector<StringRef> buffers = {bufferOf(op.getInput()), *w};
  if (gateUp) {
    auto upOp = m_.symbols_.lookup<WeightOp>(*op.getUpWeight());
    FailureOr<StringRef> up = weight(op, op.getUpWeightAttr());
    if (!upOp || failed(up))
      return failure();
    if (ModuleLowering::deviceQuant(upOp) != quant)
      return op.emitOpError("fuses gate (")
                 << stringifyQuantType(quant) << ") and up ("
                 << stringifyQuantType(ModuleLowering::deviceQuant(upOp))
                 << ") weights of different types; one matmul_gate_up kernel reads one type",
             failure();
    buffers.push_back(*up);
  }
  StringRef out = op.getResidual() ? allocateOver(op.getResult(), op, {op.getResidual()})
                                   : allocate(op.getResult());
  buffers.push_back(out);

  KernelSpec spec{gateUp ? KernelFamily::MatmulGateUp : KernelFamily::Matmul,
                  route,
                  quant,
                  std::nullopt,
                  {intParam("k", k), intParam("n", n)},
                  {},
                  op.hasNormPrologue(),
                  op.getEpilogue(),
                  {stringifyQuantType(quant).str(), matrixName(k, n)}};
  if (failed(addNormPrologue(op, spec, buffers)))
    return failure();
  if (op.getResidual()) {
    buffers.push_back(bufferOf(op.getResidual()));
    spec.nameParts.push_back("residual");
  }
  bool f16Weights = route == KernelRoute::Gemm && !oneRow &&
                    m_.target_.matrixUnit != cg::MatrixUnit::None;
  FailureOr<std::pair<gk::TilesAttr, int64_t>> tiles =
      matrixTiles(op, route, quant, k, n, oneRow, gateUp, f16Weights);
  if (failed(tiles))
    return failure();
  spec.tiles = tiles->first;
  if (f16Weights) {
    SmallVector<StringRef> weights = {buffers[1]};
    if (gateUp)
      weights.push_back(buffers[2]);
    if (failed(castInputToF16(op, k, buffers)) ||
        failed(dequantToScratch(op, weights, quant, k, n, buffers)))
      return failure();
  }
  SmallVector<AffineExpr> grid;
  if (route == KernelRoute::Gemv)
    grid = {getAffineConstantExpr(llvm::divideCeil(n, tiles->first.getTileN()), ctx()),
            rowsExpr(rows), getAffineConstantExpr(tiles->first.getSplitK(), ctx())};
  else if (f16Weights) // row tiles first: the blocks that share a weight tile run together
    grid = {rowsExpr(rows).ceilDiv(tiles->first.getTileM()),
            getAffineConstantExpr(llvm::divideCeil(n, tiles->first.getTileN()), ctx())};
  else
    grid = {getAffineConstantExpr(llvm::divideCeil(n, tiles->first.getTileN()), ctx()),
            rowsExpr(rows).ceilDiv(tiles->first.getTileM())};
  launch(op, spec, tiles->second, buffers, grid);
  if (castSource_ && castSource_->input == out) // the product wrote over its input
    castSource_.reset();
  return success();
}

/// The input of a gemm on binary16 weights, as binary16 rows with the matmul's prologue applied:
/// a cast_f16 launch into x16.K (appended to `buffers`), once per row instead of once per tile
/// of output columns in the gemm.
LogicalResult PhaseLowering::castInputToF16(MatmulOp op, int64_t k,
                                            SmallVector<StringRef> &buffers) {
  RowForm rows = rowsOf(op.getInput());
  StringRef x16 = m_.getOrCreateBuffer(llvm::formatv("x16.{0}", k).str(), BufferKind::Activation,
                                       rows, k, b_.getF16Type(), std::nullopt);
  CastF16Source source{bufferOf(op.getInput()).str(), op.getNormWeightAttr(), k};
  if (castSource_ == source) { // the previous product's cast of the same input
    buffers.push_back(x16);
    return success();
  }
  SmallVector<StringRef> castBuffers = {bufferOf(op.getInput()), x16};
  KernelSpec spec{KernelFamily::CastF16,  std::nullopt,         std::nullopt,
                  std::nullopt,           {intParam("k", k)},   {},
                  op.hasNormPrologue(),   MatmulEpilogue::None, {"k" + std::to_string(k)}};
  if (failed(addNormPrologue(op, spec, castBuffers)))
    return failure();
  launch(op, spec, m_.target_.rowThreads, castBuffers, {rowsExpr(rows)});
  castSource_ = source;
  buffers.push_back(x16);
  return success();
}

/// The gemm route on matrix units for many rows reads its weights as binary16: each weight
/// matrix is decoded once by a dequant_f16 launch into a scratch buffer (appended to `buffers`,
/// the kernel's trailing arguments) instead of once per tile of kTileM tokens inside the gemm,
/// where decoding cost as much as the products (pp512 at ≈ 72 TFLOP/s on an H200). The scratch
/// buffers are shared by every such product of the plan (the largest matrix sizes them).
LogicalResult PhaseLowering::dequantToScratch(MatmulOp op, ArrayRef<StringRef> weights,
                                              QuantType quant, int64_t k, int64_t n,
                                              SmallVector<StringRef> &buffers) {
  int64_t block = m_.target_.elementwiseThreads;
  int64_t chunks = n * k / cg::kChunkElements;
  for (StringRef weightBuffer : weights) {
    StringRef scratch = m_.nextScratchBuffer(n * k);
    KernelSpec spec{KernelFamily::DequantF16,
                    std::nullopt,
                    quant,
                    std::nullopt,
                    {intParam("k", k), intParam("n", n)},
                    {},
                    false,
                    MatmulEpilogue::None,
                    {stringifyQuantType(quant).str(), matrixName(k, n)}};
    launch(op, spec, block, {weightBuffer, scratch},
           {getAffineConstantExpr(llvm::divideCeil(chunks, block), ctx())});
    buffers.push_back(scratch);
  }
  return success();
}

/// The ops `first` opens a matmul_qkv with: `first` and the next two matmuls of its block that
/// read the same input (after `first`, in order), when they are the queries, keys and values of
/// one greta.rope_kv_append (what greta-fuse makes of a Llama attention block) and nothing else
/// reads them, all three take the gemv route, the same prologue and no epilogue, and q and k
/// read weights of one device type (v may have another: Q4_K_M's Q6_K v layers; the kernel
/// then decodes v's rows in a part of their own); and that rope_kv_append. Otherwise none.
///
/// Decode runs these GEMVs at a fixed cost each (a launch, the input's RMS norm and int16 staging
/// per block, a tail wave) far above their bytes (k and v: 2.4 MB each); one launch over the
/// three matrices pays it once, and the rotations and cache rows (rope_kv_append's launch,
/// 6.6 µs a layer) ride on its stores.
std::optional<QKVGroup> PhaseLowering::findQKVGroup(MatmulOp first) {
  auto isMember = [&](MatmulOp op) {
    return op.getRoute() && *op.getRoute() == Route::Gemv &&
           op.getEpilogue() == MatmulEpilogue::None && !lowered_.contains(op);
  };
  auto quantOf = [&](MatmulOp op) -> std::optional<QuantType> {
    auto weightOp = m_.symbols_.lookup<WeightOp>(op.getWeight());
    return weightOp ? std::optional(ModuleLowering::deviceQuant(weightOp)) : std::nullopt;
  };
  if (!isMember(first) || !quantOf(first))
    return std::nullopt;
  SmallVector<MatmulOp, 3> group = {first};
  for (Operation *op = first->getNextNode(); op && group.size() < 3; op = op->getNextNode()) {
    auto sibling = dyn_cast<MatmulOp>(op);
    if (!sibling || sibling.getInput() != first.getInput())
      continue;
    bool isValue = group.size() == 2;
    if (!isMember(sibling) || sibling.getNormWeightAttr() != first.getNormWeightAttr() ||
        sibling.getNormEpsAttr() != first.getNormEpsAttr() || !quantOf(sibling) ||
        (!isValue && quantOf(sibling) != quantOf(first)) ||
        !(rowsOf(sibling.getResult()) == rowsOf(first.getResult())))
      return std::nullopt;
    group.push_back(sibling);
  }
  if (group.size() != 3 || llvm::any_of(group, [](MatmulOp op) { return !op->hasOneUse(); }))
    return std::nullopt;
  auto append = dyn_cast<RopeKVAppendOp>(*group[0]->user_begin());
  if (!append || append.getQuery() != group[0].getResult() ||
      append.getKey() != group[1].getResult() || append.getValue() != group[2].getResult())
    return std::nullopt;
  auto cache = m_.symbols_.lookup<KVCacheOp>(append.getCache());
  if (!cache ||
      colsOf(group[0].getResult()) !=
          static_cast<int64_t>(append.getHeads() * cache.getType().getHeadDim()) ||
      colsOf(group[1].getResult()) != cache.getType().getRowLength())
    return std::nullopt; // rope_kv_append's verifier reports it
  return QKVGroup{group, append};
}

LogicalResult PhaseLowering::lowerMatmulQKV(const QKVGroup &qkv) {
  ArrayRef<MatmulOp> group = qkv.matmuls;
  RopeKVAppendOp append = qkv.append;
  MatmulOp q = group[0];
  auto weightOp = m_.symbols_.lookup<WeightOp>(q.getWeight());
  QuantType quant = ModuleLowering::deviceQuant(weightOp);
  int64_t k = colsOf(q.getInput());
  int64_t nQ = colsOf(q.getResult()), nKV = colsOf(MatmulOp(group[1]).getResult());
  RowForm rows = rowsOf(q.getResult());
  bool oneRow = !rows.seq ? rows.count == 1 : isDecode();

  SmallVector<StringRef> buffers = {bufferOf(q.getInput())};
  for (MatmulOp op : group) {
    FailureOr<StringRef> w = weight(op, op.getWeightAttr());
    if (failed(w))
      return failure();
    buffers.push_back(*w);
  }
  for (MatmulOp op : group)
    buffers.push_back(allocate(op.getResult()));
  KernelSpec spec{KernelFamily::MatmulQKV,
                  KernelRoute::Gemv,
                  quant,
                  std::nullopt,
                  {intParam("k", k)},
                  {},
                  q.hasNormPrologue(),
                  MatmulEpilogue::None,
                  {stringifyQuantType(quant).str(), matrixName(k, nQ), "kv" + std::to_string(nKV)}};
  FailureOr<std::pair<StringRef, StringRef>> caches = ropeKVAppendPart(append, buffers[4], spec);
  if (failed(caches))
    return failure();
  buffers.append({bufferOf(append.getPositions()), caches->first, caches->second});
  // v stored unlike q and k: its rows are a part of their own, tiled separately.
  QuantType vQuant =
      ModuleLowering::deviceQuant(m_.symbols_.lookup<WeightOp>(MatmulOp(group[2]).getWeight()));
  if (vQuant != quant) {
    spec.params.push_back(
        b_.getNamedAttr("v_quant", b_.getStringAttr(stringifyQuantType(vQuant))));
    spec.nameParts.push_back("v" + stringifyQuantType(vQuant).str());
  }
  if (failed(addNormPrologue(q, spec, buffers)))
    return failure();
  // One grid over the three matrices' rows, tiled as one matrix of that many rows.
  int64_t n = nQ + 2 * nKV;
  FailureOr<std::pair<gk::TilesAttr, int64_t>> tiles =
      matrixTiles(q, KernelRoute::Gemv, quant, k, n, oneRow);
  if (failed(tiles))
    return failure();
  spec.tiles = tiles->first;
  int64_t tileN = tiles->first.getTileN();
  int64_t columnTiles = vQuant == quant ? llvm::divideCeil(n, tileN)
                                        : llvm::divideCeil(nQ + nKV, tileN) +
                                              llvm::divideCeil(nKV, tileN);
  SmallVector<AffineExpr> grid = {getAffineConstantExpr(columnTiles, ctx()), rowsExpr(rows),
                                  getAffineConstantExpr(tiles->first.getSplitK(), ctx())};
  launch(q, spec, tiles->second, buffers, grid);
  for (MatmulOp op : group.drop_front())
    lowered_.insert(op);
  lowered_.insert(append);
  return success();
}

LogicalResult PhaseLowering::lowerLmHead(LmHeadOp op) {
  auto weightOp = m_.symbols_.lookup<WeightOp>(op.getWeight());
  FailureOr<StringRef> w = weight(op, op.getWeightAttr());
  if (!weightOp || failed(w))
    return failure();
  if (!op.getRoute())
    return op.emitOpError("has no route; run greta-select-routes before lowering"), failure();
  int64_t resultRows = checks::getDim(op.getLogits().getType(), 0);
  if (resultRows != 1)
    return op.emitOpError("projects ")
               << (ShapedType::isDynamic(resultRows) ? "every row" : "several rows")
               << "; the bundle's lm_head writes the last row's logits (mark it last_only)",
           failure();
  KernelRoute route = *op.getRoute() == Route::Gemv ? KernelRoute::Gemv : KernelRoute::Gemm;
  QuantType quant = ModuleLowering::deviceQuant(weightOp);
  int64_t k = colsOf(op.getInput()), n = colsOf(op.getLogits());
  StringRef logits = m_.getOrCreateBuffer(kLogitsBuffer, BufferKind::Logits, RowForm{false, 1}, n,
                                          b_.getF32Type(), std::nullopt);
  assign(op.getLogits(), logits);
  FailureOr<std::pair<gk::TilesAttr, int64_t>> tiles =
      matrixTiles(op, route, quant, k, n, /*oneRow=*/true);
  if (failed(tiles))
    return failure();
  KernelSpec spec{KernelFamily::LmHead,
                  route,
                  quant,
                  tiles->first,
                  {intParam("k", k), intParam("n", n)},
                  {},
                  false,
                  MatmulEpilogue::None,
                  {stringifyQuantType(quant).str(), matrixName(k, n)}};
  SmallVector<AffineExpr> grid = {
      getAffineConstantExpr(llvm::divideCeil(n, tiles->first.getTileN()), ctx()),
      getAffineConstantExpr(1, ctx())};
  if (route == KernelRoute::Gemv)
    grid.push_back(getAffineConstantExpr(tiles->first.getSplitK(), ctx()));
  launch(op, spec, tiles->second, {bufferOf(op.getInput()), *w, logits}, grid);
  return success();
}

/// RoPE params shared by rope and rope_kv_append (and the matmul_qkv that carries one).
static void addRopeParams(OpBuilder &b, KernelSpec &spec, int64_t headDim, float theta,
                          std::optional<FlatSymbolRefAttr> freqs) {
  spec.params.push_back(b.getNamedAttr("head_dim", b.getI64IntegerAttr(headDim)));
  spec.params.push_back(b.getNamedAttr("theta", b.getF32FloatAttr(theta)));
  if (freqs && *freqs)
    spec.params.push_back(b.getNamedAttr("freqs", *freqs));
}

LogicalResult PhaseLowering::lowerRope(RopeOp op) {
  if (failed(requireLastUse(op, op.getInput(), "input")))
    return failure();
  if (op.getFreqs() && failed(vectorWeight(op, op.getFreqsAttr())))
    return failure();
  StringRef x = bufferOf(op.getInput());
  assign(op.getResult(), x);
  KernelSpec spec{KernelFamily::Rope,
                  std::nullopt,
                  std::nullopt,
                  std::nullopt,
                  {intParam("heads", op.getHeads())},
                  {},
                  false,
                  MatmulEpilogue::None,
                  {"h" + std::to_string(op.getHeads())}};
  addRopeParams(b_, spec, op.getHeadDim(), op.getTheta().convertToFloat(),
                op.getFreqs() ? std::optional(op.getFreqsAttr()) : std::nullopt);
  launch(op, spec, m_.target_.rowThreads, {x, bufferOf(op.getPositions())},
         {rowsExpr(rowsOf(op.getInput()))});
  return success();
}

LogicalResult PhaseLowering::lowerKVAppend(KVAppendOp op) {
  FailureOr<KVCacheType> cache = cacheType(op, op.getCacheAttr());
  if (failed(cache))
    return failure();
  KVCacheType type = *cache;
  KernelSpec spec{
      KernelFamily::KVAppend,
      std::nullopt,
      std::nullopt,
      std::nullopt,
      {intParam("kv_heads", type.getKvHeads()), intParam("head_dim", type.getHeadDim())},
      {},
      false,
      MatmulEpilogue::None,
      {"kv" + std::to_string(type.getRowLength())}};
  FailureOr<std::pair<StringRef, StringRef>> caches = cacheBuffers(op, op.getCacheAttr(), spec);
  if (failed(caches))
    return failure();
  launch(op, spec, m_.target_.rowThreads,
         {bufferOf(op.getKey()), bufferOf(op.getValue()), bufferOf(op.getPositions()),
          caches->first, caches->second},
         {rowsExpr(rowsOf(op.getKey()))});
  return success();
}

/// What a rope_kv_append adds to the kernel that carries it (its own, or a matmul_qkv): the
/// rotated queries in `q` (the queries' buffer), the heads, head_dim, theta and freqs params,
/// and the caches' buffers (k, v), which it returns.
FailureOr<std::pair<StringRef, StringRef>>
PhaseLowering::ropeKVAppendPart(RopeKVAppendOp op, StringRef q, KernelSpec &spec) {
  if (op.getFreqs() && failed(vectorWeight(op, op.getFreqsAttr())))
    return failure();
  FailureOr<std::pair<StringRef, StringRef>> caches = cacheBuffers(op, op.getCacheAttr(), spec);
  if (failed(caches))
    return failure();
  KVCacheType type = *cacheType(op, op.getCacheAttr()); // cacheBuffers found it
  assign(op.getRotatedQuery(), q);
  spec.params.append({intParam("heads", op.getHeads()), intParam("kv_heads", type.getKvHeads())});
  addRopeParams(b_, spec, type.getHeadDim(), op.getTheta().convertToFloat(),
                op.getFreqs() ? std::optional(op.getFreqsAttr()) : std::nullopt);
  return caches;
}

LogicalResult PhaseLowering::lowerRopeKVAppend(RopeKVAppendOp op) {
  if (failed(requireLastUse(op, op.getQuery(), "query")) ||
      failed(requireLastUse(op, op.getKey(), "key")))
    return failure();
  FailureOr<KVCacheType> cache = cacheType(op, op.getCacheAttr());
  if (failed(cache))
    return failure();
  KVCacheType type = *cache;
  StringRef q = bufferOf(op.getQuery());
  KernelSpec spec{KernelFamily::RopeKVAppend,
                  std::nullopt,
                  std::nullopt,
                  std::nullopt,
                  {},
                  {},
                  false,
                  MatmulEpilogue::None,
                  {"h" + std::to_string(op.getHeads()) + "kv" + std::to_string(type.getKvHeads())}};
  FailureOr<std::pair<StringRef, StringRef>> caches = ropeKVAppendPart(op, q, spec);
  if (failed(caches))
    return failure();
  // One block per row and KV head (its query heads, its key head, its value head): a decode
  // step's single row spreads over kv_heads compute units instead of queueing on one.
  launch(op, spec, m_.target_.rowThreads,
         {q, bufferOf(op.getKey()), bufferOf(op.getValue()), bufferOf(op.getPositions()),
          caches->first, caches->second},
         {rowsExpr(rowsOf(op.getQuery())), getAffineConstantExpr(type.getKvHeads(), ctx())});
  return success();
}

LogicalResult PhaseLowering::lowerAttention(AttentionOp op) {
  if (!op.getCausal())
    return op.emitOpError("is not causal; the bundle's attention family is causal"), failure();
  FailureOr<KVCacheType> cache = cacheType(op, op.getCacheAttr());
  if (failed(cache))
    return failure();
  KVCacheType type = *cache;
  int64_t headDim = type.getHeadDim();
  float defaultScale = 1.0f / std::sqrt(static_cast<float>(headDim));
  if (op.getScale() && op.getScale()->convertToFloat() != defaultScale)
    return op.emitOpError("scales scores by ")
               << op.getScale()->convertToFloat() << "; the bundle's attention family scales by "
               << "1/sqrt(head_dim) = " << defaultScale,
           failure();
  StringRef out = allocate(op.getResult());
  RowForm rows = rowsOf(op.getResult());
  KernelRoute route = isDecode() ? KernelRoute::SplitKV : KernelRoute::Flash;
  const auto &tiles = m_.target_.attention;
  KernelSpec spec{KernelFamily::Attention,
                  route,
                  std::nullopt,
                  std::nullopt,
                  {intParam("heads", op.getHeads()), intParam("kv_heads", op.getKvHeads()),
                   intParam("head_dim", headDim), floatParam("scale", defaultScale)},
                  {},
                  false,
                  MatmulEpilogue::None,
                  {"h" + std::to_string(op.getHeads()) + "kv" + std::to_string(op.getKvHeads()) +
                   "d" + std::to_string(headDim)}};
  FailureOr<std::pair<StringRef, StringRef>> caches = cacheBuffers(op, op.getCacheAttr(), spec);
  if (failed(caches))
    return failure();
  SmallVector<AffineExpr> grid;
  int64_t block;
  if (route == KernelRoute::Flash) {
    int64_t keysPerTile =
        std::min<int64_t>(tiles.flashMaxKeys, tiles.flashKVBytes / (2 * 4 * headDim));
    if (keysPerTile < 1)
      return op.emitOpError("head_dim ")
                 << headDim << " leaves no room for one key in a flash tile of "
                 << tiles.flashKVBytes << " bytes",
             failure();
    spec.tiles = gk::TilesAttr::get(ctx(), tiles.flashTileM, keysPerTile, 1, 1);
    grid = {rowsExpr(rows).ceilDiv(tiles.flashTileM), getAffineConstantExpr(op.getHeads(), ctx())};
    block = tiles.flashThreads;
  } else {
    // A block per (KV head, row, split): the query heads of a KV head share its keys.
    spec.tiles = gk::TilesAttr::get(ctx(), 1, 1, 1, tiles.splitKVBlocks);
    grid = {getAffineConstantExpr(op.getKvHeads(), ctx()), rowsExpr(rows),
            getAffineConstantExpr(tiles.splitKVBlocks, ctx())};
    block = tiles.splitKVThreads;
  }
  launch(op, spec, block,
         {bufferOf(op.getQuery()), caches->first, caches->second, bufferOf(op.getPositions()), out},
         grid);
  return success();
}

LogicalResult PhaseLowering::lowerElementwise(Operation *op, KernelFamily family, Value lhs,
                                              Value rhs) {
  Value result = op->getResult(0);
  StringRef a = bufferOf(lhs), bIn = bufferOf(rhs);
  StringRef out = allocateOver(result, op, {lhs, rhs});
  int64_t n = colsOf(result);
  KernelSpec spec{family,       std::nullopt,         std::nullopt,
                  std::nullopt, {intParam("n", n)},   {},
                  false,        MatmulEpilogue::None, {"n" + std::to_string(n)}};
  int64_t block = m_.target_.elementwiseThreads;
  launch(op, spec, block, {a, bIn, out},
         {getAffineConstantExpr(llvm::divideCeil(n, block), ctx()), rowsExpr(rowsOf(result))});
  return success();
}

LogicalResult PhaseLowering::lowerAudit(AuditOp op) {
  StringRef x = bufferOf(op.getInput());
  assign(op.getResult(), x);
  pinned_.insert(x);
  std::string point = op.getPoint() == AuditPoint::LayerOutput
                          ? llvm::formatv("layer.{0}.output", *op.getLayer()).str()
                          : stringifyAuditPoint(op.getPoint()).str();
  StringRef record = m_.getOrCreateBuffer("audit." + point, BufferKind::Audit, std::nullopt, 0,
                                          Type(), kAuditRecordBytes);
  bool isLogits = m_.buffers_[x].getKind() == BufferKind::Logits;
  KernelSpec spec{KernelFamily::AuditStats,
                  std::nullopt,
                  std::nullopt,
                  std::nullopt,
                  {intParam("n", colsOf(op.getInput())),
                   b_.getNamedAttr("point", b_.getStringAttr(point)),
                   b_.getNamedAttr("is_logits", b_.getBoolAttr(isLogits))},
                  {},
                  false,
                  MatmulEpilogue::None,
                  {}};
  std::string pointName = point;
  std::replace(pointName.begin(), pointName.end(), '.', '_');
  spec.nameParts.push_back(pointName);
  int64_t blocks = llvm::divideCeil(colsOf(op.getInput()), kAuditThreads * kAuditValuesPerThread);
  launch(op, spec, kAuditThreads, {x, record}, {getAffineConstantExpr(blocks, ctx())});
  return success();
}

LogicalResult ModuleLowering::lowerPhase(func::FuncOp func, Phase phase) {
  return PhaseLowering(*this, func, phase).run();
}

struct LowerToKernelsPass final : mlir::greta::impl::LowerToKernelsBase<LowerToKernelsPass> {
  using LowerToKernelsBase::LowerToKernelsBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    const TargetDesc *target = cg::findTarget(this->target);
    if (!target) {
      module.emitError() << "greta-lower-to-kernels: unknown target '" << this->target
                         << "' (known: " << cg::targetNames() << ")";
      return signalPassFailure();
    }
    // Prefill first: the plans (and the kernels' order) read like the program runs.
    SmallVector<std::pair<func::FuncOp, Phase>> phases;
    for (auto func : module.getOps<func::FuncOp>()) {
      auto phase = func->getAttrOfType<PhaseAttr>(GretaDialect::kPhaseAttrName);
      if (!phase) {
        func.emitOpError("has no greta.phase; run greta-specialize-phases (and "
                         "greta-select-routes) before greta-lower-to-kernels");
        return signalPassFailure();
      }
      phases.emplace_back(func, phase.getValue());
    }
    llvm::stable_sort(phases, [](auto a, auto b) { return a.second < b.second; });
    FailureOr<GemvTileChoices> gemvTiles = parseGemvTiles(module, this->gemvTiles);
    FailureOr<GemmTileChoices> gemmTiles = parseGemmTiles(module, this->gemmTiles);
    if (failed(gemvTiles) || failed(gemmTiles))
      return signalPassFailure();
    ModuleLowering lowering(module, *target, std::move(*gemvTiles), std::move(*gemmTiles));
    for (auto [func, phase] : phases)
      if (failed(lowering.lowerPhase(func, phase)))
        return signalPassFailure();
    lowering.finish();
    for (auto [func, phase] : phases)
      func.erase();
    for (auto cache : llvm::make_early_inc_range(module.getOps<KVCacheOp>()))
      cache.erase();
    LLVM_DEBUG(llvm::dbgs() << "lowered " << phases.size() << " phases for " << target->name
                            << "\n");
  }
};

} // namespace
