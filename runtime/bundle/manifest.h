//===- manifest.h - The structs of a bundle's manifest.json ---------------===//
//
// One struct per object of docs/bundle-format.md (format version 1), field for field. The
// compiler fills them and hands them to the BundleWriter; the runtime gets them from
// Bundle::open, validated. The header holds plain data only (no JSON library, nothing that
// throws), so code compiled with -fno-exceptions (the MLIR compiler) may include it.
//
// Thread-safety: plain values.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/formats/tensor_type.h"

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace greta::bundle {

inline constexpr std::string_view kFormatName = "greta-bundle";
/// The only format_version this runtime reads and writes.
inline constexpr uint32_t kFormatVersion = 1;
/// Alignment of every tensor in weights.bin: a cache line, and enough for any vector load.
inline constexpr uint64_t kWeightAlignment = 64;

inline constexpr std::string_view kManifestFile = "manifest.json";
inline constexpr std::string_view kTokenizerFile = "tokenizer.gguf";
inline constexpr std::string_view kWeightsFile = "weights.bin";
inline constexpr std::string_view kKernelsDir = "kernels";
inline constexpr std::string_view kIrDir = "ir";

/// The two weight layouts every backend reads (docs/bundle-format.md "Layouts"); backends may
/// name their own repacks `<route>_<quant>_<tile>`.
inline constexpr std::string_view kLayoutGgml = "ggml";
inline constexpr std::string_view kLayoutF16Rows = "f16_rows";

/// The buffers the runtime fills before each phase (`tokens`, `positions`).
inline constexpr std::string_view kTokensBuffer = "tokens";
inline constexpr std::string_view kPositionsBuffer = "positions";

/// `source`: the GGUF the bundle was compiled from.
struct SourceInfo {
  std::string path;
  uint64_t size = 0;
  std::string headerHash; ///< "fnv1a64:…" over the bytes before the tensor data
};

/// `model`: hyper-parameters, from the GGUF.
struct ModelParams {
  std::string arch = "llama";
  uint32_t layers = 0;
  uint32_t dim = 0;
  uint32_t heads = 0;
  uint32_t kvHeads = 0;
  uint32_t headDim = 0;
  uint32_t ffn = 0;
  uint32_t vocab = 0;
  uint32_t context = 0;
  double ropeTheta = 0.0;
  double rmsEps = 0.0;
  std::optional<std::string> ropeFreqs; ///< weight with Llama-3.1 frequency divisors, or none
  bool tiedEmbeddings = false;
};

/// `options`: how the compiler was asked to build the bundle (informational for the runtime).
struct CompileOptions {
  std::string audit = "default"; ///< none | default | all-layers
  bool fuse = true;
  std::map<std::string, std::string> forcedRoutes;
  std::vector<std::string> fp16Weights;
  std::vector<std::string> targets;
  /// --kv-cache-dtype as given (auto | f32 | f16; the buffers' dtype says what auto chose).
  std::string kvCacheDtype = "auto";
};

enum class WeightMode { Embed, External };

/// One entry of `weights.tensors`.
struct WeightEntry {
  std::string name{};                ///< GGUF tensor name; unique in the table
  TensorType type = TensorType::F32; ///< the type the kernels read
  std::vector<uint64_t> dims{};      ///< ggml order: dims[0] is the row length (K)
  std::string layout = std::string(kLayoutGgml);
  /// Embed: range in weights.bin (64-byte aligned). External: range of the source tensor in the
  /// GGUF file (absolute offset), stored as ggml; the loader repacks it into `layout`.
  uint64_t offset = 0;
  uint64_t bytes = 0;
  std::string checksum{}; ///< "fnv1a64:…" over the stored bytes; optional for external weights
};

/// `weights`.
struct WeightTable {
  WeightMode mode = WeightMode::Embed;
  std::string file = std::string(kWeightsFile); ///< embed: weights.bin; external: the GGUF path
  std::vector<WeightEntry> tensors;
};

/// The most values a scratch buffer may hold (8 GiB of binary16): a bound on what a manifest
/// can make the runtime allocate.
inline constexpr uint64_t kMaxScratchValues = uint64_t{1} << 32;

/// Scratch: a fixed-size working buffer (f16, one row) that one launch of a phase writes and a
/// later one reads (dequant_f16's binary16 weights).
enum class BufferKind { Activation, Logits, Kv, Input, Audit, Scratch };
enum class BufferDType { F32, I32, U8, F16 };

/// A row count: an integer, or one resolved at run time.
struct RowExtent {
  enum class Kind {
    Fixed,   ///< `count` rows
    Seq,     ///< the phase's token count
    Last,    ///< 1: the last position only
    Context, ///< the context length chosen at run time (KV caches)
  };
  Kind kind = Kind::Fixed;
  uint64_t count = 1; ///< Fixed only

  static RowExtent fixed(uint64_t count) { return {Kind::Fixed, count}; }
  static RowExtent seq() { return {Kind::Seq, 0}; }
  static RowExtent last() { return {Kind::Last, 0}; }
  static RowExtent context() { return {Kind::Context, 0}; }
  friend bool operator==(const RowExtent &, const RowExtent &) = default;

  /// The rows in a run of `seq` tokens with a KV cache of `context` rows (with the largest batch
  /// for `seq`, the rows to allocate).
  uint64_t rowsIn(uint64_t seq, uint64_t context) const {
    switch (kind) {
    case Kind::Seq:
      return seq;
    case Kind::Last:
      return 1;
    case Kind::Context:
      return context;
    case Kind::Fixed:
      break;
    }
    return count;
  }
};

/// One entry of `buffers`.
struct BufferSpec {
  std::string name;
  BufferKind kind = BufferKind::Activation;
  BufferDType dtype = BufferDType::F32;
  RowExtent rows;
  uint64_t cols = 0;
};

/// A kernel parameter: JSON null, bool, integer, number or string.
using ParamValue = std::variant<std::monostate, bool, int64_t, double, std::string>;

/// One entry of a kernel's `code_objects`: the kernel compiled ahead of time for one GPU target
/// (greta-compile --target sm_90). The runtime uses it only on a device of exactly `target` and
/// only while `key` still matches what it would compile now (source, prelude, options).
struct CodeObjectEntry {
  std::string target;   ///< "sm_90", "gfx942"
  std::string file;     ///< "kernels/<kernel>.<target>.co" inside the bundle
  std::string key;      ///< "fnv1a64:…": hip::KernelCompiler::codeObjectKey at compile time
  uint64_t bytes = 0;   ///< size of `file`
  std::string checksum; ///< "fnv1a64:…" over the file's bytes
};

/// One entry of `kernels`.
struct KernelSpec {
  std::string name;
  std::string family;
  std::string route;  ///< gemv | gemm | split_kv | flash | …; empty when the family has none
  std::string source; ///< "kernels/<name>.hip" inside the bundle; empty when none was emitted
  std::string entry;  ///< the __global__ function in `source`
  std::map<std::string, ParamValue> params;
  std::vector<CodeObjectEntry> codeObjects{}; ///< optional, one per target at most
  /// `early_start`: the kernel waits for its producers itself (greta_prelude.h's
  /// wait_for_producers), so the runtime may start it before the launch ahead of it finishes.
  bool earlyStart = false;
};

/// `grid` of a launch, per dimension: ceil((mul * seq + add) / div).
struct GridDim {
  int64_t mul = 0;
  int64_t add = 1;
  int64_t div = 1;
};

/// One entry of a phase's `launches`: `args` values name a buffer, or a weight as "@name".
struct Launch {
  std::string kernel;
  std::map<std::string, std::string> args;
  std::vector<GridDim> grid;
};

/// One entry of a phase's `audits`: after launch `launchIndex`, `buffer` holds the value audited
/// at `point` (`final_rmsnorm`, `lm_head`, `layer.N.…`).
struct AuditPoint {
  std::string point;
  std::string buffer;
  RowExtent rows = RowExtent::last();
  uint64_t launchIndex = 0;
  /// Optional: the buffer that holds the audited op's input after `launchIndex` (final_rmsnorm:
  /// the pre-norm hidden state the CPU probe starts from). Empty: the runtime takes it from the
  /// launch's own arguments (rms_norm `x`, add_rms_norm `sum`).
  std::string input{};
};

/// The audit point after the final RMSNorm, and the one after the LM head.
inline constexpr std::string_view kFinalRmsNormPoint = "final_rmsnorm";
inline constexpr std::string_view kLmHeadPoint = "lm_head";

/// Another launch list for a phase, the same computation with one op on another route; chosen
/// at run time with --force-route OP=ROUTE. Its audits list the same points as the phase's.
struct PhaseAlternative {
  std::vector<Launch> launches;
  std::vector<AuditPoint> audits;
};

/// A phase's token count: "dynamic" (prefill: 1 ≤ seq ≤ context − position) or fixed (decode: 1).
struct PhaseSeq {
  bool dynamic = false;
  uint64_t fixed = 1;
};

struct PhasePlan {
  PhaseSeq seq;
  std::string logits = "logits";
  std::vector<Launch> launches;
  std::vector<AuditPoint> audits;
  /// Keyed "OP=ROUTE" (OP a kernel family with routes, e.g. "lm_head=gemv"): in every launch of
  /// family OP the alternative uses ROUTE. Usually empty.
  std::map<std::string, PhaseAlternative> alternatives{};
};

enum class PhaseKind { Prefill, Decode };

struct Manifest {
  std::string format = std::string(kFormatName);
  uint32_t formatVersion = kFormatVersion;
  std::string generator;
  SourceInfo source;
  ModelParams model;
  CompileOptions options;
  WeightTable weights;
  std::vector<BufferSpec> buffers;
  std::vector<KernelSpec> kernels;
  PhasePlan prefill;
  PhasePlan decode;

  const PhasePlan &phase(PhaseKind kind) const {
    return kind == PhaseKind::Prefill ? prefill : decode;
  }
  PhasePlan &phase(PhaseKind kind) { return kind == PhaseKind::Prefill ? prefill : decode; }
  const BufferSpec *findBuffer(std::string_view name) const;
  const KernelSpec *findKernel(std::string_view name) const;
  const WeightEntry *findWeight(std::string_view name) const;
};

// The JSON spellings of the enums ("activation", "f32", "seq", "prefill", …).
std::string_view nameOf(WeightMode mode);
std::string_view nameOf(BufferKind kind);
std::string_view nameOf(BufferDType dtype);
std::string_view nameOf(PhaseKind kind);
/// "seq", "last", "context", or the decimal count.
std::string formatRowExtent(const RowExtent &rows);
std::optional<WeightMode> parseWeightMode(std::string_view text);
std::optional<BufferKind> parseBufferKind(std::string_view text);
std::optional<BufferDType> parseBufferDType(std::string_view text);
/// Bytes of one element of `dtype`.
uint64_t bytesOf(BufferDType dtype);

/// The routes the launches of family `op` take among `launches` (kernels of `manifest`).
std::set<std::string> routesOf(const Manifest &manifest, const std::vector<Launch> &launches,
                               std::string_view op);

/// The entry of `plan.audits` for `point`, or null.
const AuditPoint *findAuditPoint(const PhasePlan &plan, std::string_view point);

/// "lm_head=gemv" → {"lm_head", "gemv"}; nullopt unless both sides are non-empty.
std::optional<std::pair<std::string, std::string>> parseRouteChoice(std::string_view text);

/// A weight reference in launch args: "@name" → "name"; nullopt for a buffer name.
std::optional<std::string_view> weightRefName(std::string_view argValue);

} // namespace greta::bundle
