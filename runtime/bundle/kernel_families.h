//===- kernel_families.h - The kernel families of bundle format 1 ----------===//
//
// One table, read by the manifest validator and by every backend, says for each family of
// docs/bundle-format.md which arguments and parameters a launch must give, their types and
// shapes. The validator checks launches against it once, at load; a backend's kernels can then
// rely on every argument being present with the shape the table promises. A backend declares
// which families it runs; a test checks that it covers all of them.
//
// Shape expressions (`cols`, weight `dims`) are a parameter name ("k"), a product of them
// ("heads*head_dim"), "1", or "*" (any).
//
// Thread-safety: immutable tables, built on first use (thread-safe static initialisation).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/bundle/manifest.h"

#include <span>
#include <string_view>
#include <vector>

namespace greta::bundle {

/// When an argument or parameter is required.
enum class Presence {
  Always,
  Optional,           ///< checked when given
  IfRmsNormPrologue,  ///< params.prologue == "rms_norm"
  IfResidualEpilogue, ///< params.epilogue == "residual_add"
};

enum class Access { Read, Write, ReadWrite };

/// How an argument's row count relates to the launch's row count S.
enum class RowRule {
  PerRow,  ///< S rows when written; at least S when read (the last S rows are used)
  OneRow,  ///< exactly one row
  AnyRows, ///< whatever the buffer has (its last row is what the family uses)
  Context, ///< a KV cache: the run-time context length
  Record,  ///< an audit record buffer (u8, kAuditRecordBytes)
  Scratch, ///< a scratch buffer (f16, one row) of at least `scratchValues` values
};

struct ArgSpec {
  std::string_view name{};
  bool isWeight = false;
  Access access = Access::Read;
  Presence presence = Presence::Always;
  // Buffers:
  BufferDType dtype = BufferDType::F32;
  /// A Choice param that names the buffer's dtype where the kernel gives it (`dtype` otherwise):
  /// the KV caches' kv_dtype. Read it through argDType().
  std::string_view dtypeParam{};
  RowRule rows = RowRule::PerRow;
  std::string_view cols{}; ///< shape expression
  std::string_view scratchValues{}; ///< RowRule::Scratch: the values it must hold
  // Weights:
  std::vector<std::string_view> dims{}; ///< shape expressions, ggml order
  bool typeIsQuantParam = false;        ///< the weight's type must equal params.quant
  std::string_view typeParam{};         ///< ... or this param instead, when the kernel has it
};

enum class ParamType {
  Dim,            ///< integer in [1, 2^31)
  PositiveNumber, ///< finite number > 0
  Bool,
  Name,           ///< non-empty string
  Choice,         ///< one of `choices`
  TensorTypeName, ///< a ggml type name the CPU backend computes with
  RopeFreqs,      ///< null / "none", or a weight [head_dim / 2] of frequency divisors
};

struct ParamSpec {
  std::string_view name{};
  ParamType type = ParamType::Dim;
  Presence presence = Presence::Always;
  std::vector<std::string_view> choices{};
};

/// A relation between two Dim parameters.
struct ParamRule {
  enum class Kind { MultipleOf, Even } kind;
  std::string_view param;
  std::string_view other; ///< MultipleOf: `param` must be a multiple of `other`
};

/// Two arguments that may name the same buffer (in-place updates the family supports).
struct AliasPair {
  std::string_view a;
  std::string_view b;
};

struct FamilySpec {
  std::string_view name{};
  std::vector<ArgSpec> args{};
  std::vector<ParamSpec> params{};
  std::string_view rowsArg{};             ///< the argument whose row count is the launch's S
  std::vector<std::string_view> routes{}; ///< empty: the kernel must not name a route
  std::vector<AliasPair> mayAlias{};
  std::vector<ParamRule> rules{};
};

/// Every family of format version 1, in the order of docs/bundle-format.md.
std::span<const FamilySpec> kernelFamilies();
const FamilySpec *findFamily(std::string_view name);
/// "embedding, rms_norm, …" for messages.
std::string familyNames();

/// The dtype a launch of `kernel` needs in the buffer bound to `arg`: the value of
/// arg.dtypeParam where the kernel gives it, else arg.dtype. Throws greta::Error naming the
/// kernel when that param is not a buffer dtype (validated kernels never do).
BufferDType argDType(const ArgSpec &arg, const KernelSpec &kernel);

/// The argument a binary16 copy argument stands in for on a GPU gemm ("x_f16" -> "x",
/// "weight_f16" -> "weight", "gate_f16", "up_f16"), or empty for any other argument.
std::string_view binary16SourceOf(std::string_view arg);

inline constexpr std::string_view kPrologueNone = "none";
inline constexpr std::string_view kPrologueRmsNorm = "rms_norm";
inline constexpr std::string_view kEpilogueNone = "none";
inline constexpr std::string_view kEpilogueResidualAdd = "residual_add";
inline constexpr std::string_view kRopeFreqsNone = "none";
/// The KV caches' storage dtype of kv_append, rope_kv_append, matmul_qkv and attention
/// (optional: absent means f32).
inline constexpr std::string_view kKvDtypeParam = "kv_dtype";

} // namespace greta::bundle
