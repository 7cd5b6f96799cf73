//===- kernel_families.cpp - The family table of bundle format 1 ------------===//
//
// Transcribes the "Kernel families" table of docs/bundle-format.md. Changing a family's
// arguments or their meaning is a format version change.
//
//===----------------------------------------------------------------------===//
#include "runtime/bundle/kernel_families.h"

#include "runtime/support/error.h"

namespace greta::bundle {
namespace {

using P = Presence;
using R = RowRule;

// Argument shorthands keep the table one family per block.
ArgSpec readRows(std::string_view name, std::string_view cols, Presence presence = P::Always) {
  return ArgSpec{.name = name, .access = Access::Read, .presence = presence, .cols = cols};
}
ArgSpec writeRows(std::string_view name, std::string_view cols) {
  return ArgSpec{.name = name, .access = Access::Write, .cols = cols};
}
ArgSpec updateRows(std::string_view name, std::string_view cols) {
  return ArgSpec{.name = name, .access = Access::ReadWrite, .cols = cols};
}
ArgSpec positionsArg() {
  return ArgSpec{.name = "positions", .dtype = BufferDType::I32, .cols = "1"};
}
/// A weight matrix as binary16 values in a scratch buffer, row after row: written by
/// dequant_f16, read (where given) by a gemm kernel in place of the quantised weight.
ArgSpec f16WeightArg(std::string_view name, Access access, Presence presence) {
  return ArgSpec{.name = name,
                 .access = access,
                 .presence = presence,
                 .dtype = BufferDType::F16,
                 .rows = R::Scratch,
                 .scratchValues = "n*k"};
}
/// prologue(x) as binary16 rows, written by cast_f16, read (where given) by a gemm kernel on
/// binary16 weights in place of x and its prologue.
ArgSpec f16InputArg() {
  return ArgSpec{
      .name = "x_f16", .presence = P::Optional, .dtype = BufferDType::F16, .cols = "k"};
}
/// A KV cache, stored in the kernel's kv_dtype (f32 where it gives none).
ArgSpec cacheArg(std::string_view name, Access access) {
  return ArgSpec{.name = name,
                 .access = access,
                 .dtypeParam = kKvDtypeParam,
                 .rows = R::Context,
                 .cols = "kv_heads*head_dim"};
}

ParamSpec quantParam() { return {"quant", ParamType::TensorTypeName}; }
ParamSpec prologueParam() {
  return {"prologue", ParamType::Choice, P::Always, {kPrologueNone, kPrologueRmsNorm}};
}
ParamSpec prologueEps() { return {"eps", ParamType::PositiveNumber, P::IfRmsNormPrologue}; }
ParamSpec freqsParam() { return {"freqs", ParamType::RopeFreqs}; }
// What a matrix product or matrix-unit attention computes in, where it is not plain f32
// (optional, docs/bundle-format.md): the first operand (activations; i16 is a gemv decoder's
// int16 input), the second (weights, keys) and the accumulator. The audit records carry them.
ParamSpec dtypeA() {
  return {"dtype_a", ParamType::Choice, P::Optional, {"f32", "f16", "bf16", "i16"}};
}
ParamSpec dtypeB() { return {"dtype_b", ParamType::Choice, P::Optional, {"f32", "f16", "bf16"}}; }
ParamSpec accumDtype() { return {"accum_dtype", ParamType::Choice, P::Optional, {"f32"}}; }
// The KV caches' storage (optional: absent is f32). binary16 halves their memory and the
// attention's reads; values are rounded to nearest even as they are stored, widened exactly as
// they are read, and the arithmetic is unchanged.
ParamSpec kvDtype() { return {kKvDtypeParam, ParamType::Choice, P::Optional, {"f32", "f16"}}; }

const std::vector<FamilySpec> &table() {
  static const std::vector<FamilySpec> families = {
      {.name = "embedding",
       .args = {ArgSpec{.name = "tokens", .dtype = BufferDType::I32, .cols = "1"},
                ArgSpec{.name = "table", .isWeight = true, .dims = {"dim", "*"}},
                writeRows("out", "dim")},
       .params = {{"dim"}},
       .rowsArg = "out"},
      {.name = "rms_norm",
       .args = {readRows("x", "dim"), ArgSpec{.name = "weight", .isWeight = true, .dims = {"dim"}},
                writeRows("out", "dim")},
       .params = {{"dim"}, {"eps", ParamType::PositiveNumber}},
       .rowsArg = "out",
       .mayAlias = {{"x", "out"}}},
      {.name = "add_rms_norm",
       .args = {readRows("a", "dim"), readRows("b", "dim"),
                ArgSpec{.name = "weight", .isWeight = true, .dims = {"dim"}},
                writeRows("sum", "dim"), writeRows("out", "dim")},
       .params = {{"dim"}, {"eps", ParamType::PositiveNumber}},
       .rowsArg = "out",
       .mayAlias = {{"a", "sum"}, {"b", "sum"}}},
      {.name = "matmul",
       .args =
           {readRows("x", "k"),
            ArgSpec{
                .name = "weight", .isWeight = true, .dims = {"k", "n"}, .typeIsQuantParam = true},
            ArgSpec{
                .name = "norm", .isWeight = true, .presence = P::IfRmsNormPrologue, .dims = {"k"}},
            readRows("residual", "n", P::IfResidualEpilogue), writeRows("out", "n"),
            f16InputArg(), f16WeightArg("weight_f16", Access::Read, P::Optional)},
       .params =
           {{"k"},
            {"n"},
            quantParam(),
            prologueParam(),
            prologueEps(),
            {"epilogue", ParamType::Choice, P::Always, {kEpilogueNone, kEpilogueResidualAdd}},
            dtypeA(),
            dtypeB(),
            accumDtype()},
       .rowsArg = "out",
       .routes = {"gemv", "gemm"},
       .mayAlias = {{"out", "residual"}}},
      {.name = "matmul_gate_up",
       .args =
           {readRows("x", "k"),
            ArgSpec{.name = "gate", .isWeight = true, .dims = {"k", "n"}, .typeIsQuantParam = true},
            ArgSpec{.name = "up", .isWeight = true, .dims = {"k", "n"}, .typeIsQuantParam = true},
            ArgSpec{
                .name = "norm", .isWeight = true, .presence = P::IfRmsNormPrologue, .dims = {"k"}},
            writeRows("out", "n"), f16InputArg(), f16WeightArg("gate_f16", Access::Read, P::Optional),
            f16WeightArg("up_f16", Access::Read, P::Optional)},
       .params = {{"k"}, {"n"}, quantParam(), prologueParam(), prologueEps(), dtypeA(), dtypeB(),
                  accumDtype()},
       .rowsArg = "out",
       .routes = {"gemv", "gemm"}},
      {.name = "matmul_qkv",
       .args = {readRows("x", "k"),
                ArgSpec{.name = "q_weight",
                        .isWeight = true,
                        .dims = {"k", "heads*head_dim"},
                        .typeIsQuantParam = true},
                ArgSpec{.name = "k_weight",
                        .isWeight = true,
                        .dims = {"k", "kv_heads*head_dim"},
                        .typeIsQuantParam = true},
                ArgSpec{.name = "v_weight",
                        .isWeight = true,
                        .dims = {"k", "kv_heads*head_dim"},
                        .typeIsQuantParam = true,
                        .typeParam = "v_quant"},
                ArgSpec{.name = "norm",
                        .isWeight = true,
                        .presence = P::IfRmsNormPrologue,
                        .dims = {"k"}},
                writeRows("q", "heads*head_dim"), writeRows("k", "kv_heads*head_dim"),
                writeRows("v", "kv_heads*head_dim"), positionsArg(),
                cacheArg("k_cache", Access::Write), cacheArg("v_cache", Access::Write)},
       .params = {{"k"},
                  {"heads"},
                  {"kv_heads"},
                  {"head_dim"},
                  {"theta", ParamType::PositiveNumber},
                  freqsParam(),
                  quantParam(),
                  {"v_quant", ParamType::TensorTypeName, P::Optional},
                  prologueParam(),
                  prologueEps(),
                  dtypeA(),
                  dtypeB(),
                  accumDtype(),
                  kvDtype()},
       .rowsArg = "q",
       .routes = {"gemv"},
       .rules = {{ParamRule::Kind::Even, "head_dim", ""},
                 {ParamRule::Kind::MultipleOf, "heads", "kv_heads"}}},
      {.name = "rope",
       .args = {updateRows("x", "heads*head_dim"), positionsArg()},
       .params = {{"heads"}, {"head_dim"}, {"theta", ParamType::PositiveNumber}, freqsParam()},
       .rowsArg = "x",
       .rules = {{ParamRule::Kind::Even, "head_dim", ""}}},
      {.name = "kv_append",
       .args = {readRows("k", "kv_heads*head_dim"), readRows("v", "kv_heads*head_dim"),
                positionsArg(), cacheArg("k_cache", Access::Write),
                cacheArg("v_cache", Access::Write)},
       .params = {{"kv_heads"}, {"head_dim"}, kvDtype()},
       .rowsArg = "k"},
      {.name = "rope_kv_append",
       .args = {updateRows("q", "heads*head_dim"), updateRows("k", "kv_heads*head_dim"),
                readRows("v", "kv_heads*head_dim"), positionsArg(),
                cacheArg("k_cache", Access::Write), cacheArg("v_cache", Access::Write)},
       .params = {{"heads"},
                  {"kv_heads"},
                  {"head_dim"},
                  {"theta", ParamType::PositiveNumber},
                  freqsParam(),
                  kvDtype()},
       .rowsArg = "q",
       .rules = {{ParamRule::Kind::Even, "head_dim", ""},
                 {ParamRule::Kind::MultipleOf, "heads", "kv_heads"}}},
      {.name = "attention",
       .args = {readRows("q", "heads*head_dim"), cacheArg("k_cache", Access::Read),
                cacheArg("v_cache", Access::Read), positionsArg(),
                writeRows("out", "heads*head_dim")},
       .params = {{"heads"},
                  {"kv_heads"},
                  {"head_dim"},
                  {"split", ParamType::Dim, P::Optional},
                  dtypeA(),
                  dtypeB(),
                  accumDtype(),
                  kvDtype()},
       .rowsArg = "out",
       .routes = {"split_kv", "flash"},
       .rules = {{ParamRule::Kind::MultipleOf, "heads", "kv_heads"}}},
      {.name = "silu_mul",
       .args = {readRows("gate", "n"), readRows("up", "n"), writeRows("out", "n")},
       .params = {{"n"}},
       .rowsArg = "out",
       .mayAlias = {{"gate", "out"}, {"up", "out"}}},
      {.name = "add",
       .args = {readRows("a", "n"), readRows("b", "n"), writeRows("out", "n")},
       .params = {{"n"}},
       .rowsArg = "out",
       .mayAlias = {{"a", "out"}, {"b", "out"}}},
      {.name = "lm_head",
       .args = {ArgSpec{.name = "x", .rows = R::AnyRows, .cols = "k"},
                ArgSpec{.name = "weight",
                        .isWeight = true,
                        .dims = {"k", "n"},
                        .typeIsQuantParam = true},
                ArgSpec{.name = "out", .access = Access::Write, .rows = R::OneRow, .cols = "n"}},
       .params = {{"k"}, {"n"}, quantParam(), dtypeA(), dtypeB(), accumDtype()},
       .rowsArg = "x",
       .routes = {"gemv", "gemm"}},
      {.name = "audit_stats",
       .args = {ArgSpec{.name = "x", .rows = R::AnyRows, .cols = "n"},
                ArgSpec{.name = "stats",
                        .access = Access::Write,
                        .dtype = BufferDType::U8,
                        .rows = R::Record}},
       .params = {{"n"}, {"point", ParamType::Name}, {"is_logits", ParamType::Bool}},
       .rowsArg = "x"},
      {.name = "cast_f16",
       .args = {readRows("x", "k"),
                ArgSpec{.name = "out", .access = Access::Write, .dtype = BufferDType::F16, .cols = "k"},
                ArgSpec{
                    .name = "norm", .isWeight = true, .presence = P::IfRmsNormPrologue, .dims = {"k"}}},
       .params = {{"k"}, prologueParam(), prologueEps()},
       .rowsArg = "out"},
      {.name = "dequant_f16",
       .args = {ArgSpec{
                    .name = "weight", .isWeight = true, .dims = {"k", "n"}, .typeIsQuantParam = true},
                f16WeightArg("out", Access::Write, P::Always)},
       .params = {{"k"}, {"n"}, quantParam()},
       .rowsArg = "out"},
  };
  return families;
}

} // namespace

std::span<const FamilySpec> kernelFamilies() { return table(); }

const FamilySpec *findFamily(std::string_view name) {
  for (const FamilySpec &family : table())
    if (family.name == name)
      return &family;
  return nullptr;
}

std::string_view binary16SourceOf(std::string_view arg) {
  // The family table names every such argument "<source>_f16" (f16InputArg, f16WeightArg).
  constexpr std::string_view kSuffix = "_f16";
  if (arg.size() <= kSuffix.size() || !arg.ends_with(kSuffix))
    return {};
  return arg.substr(0, arg.size() - kSuffix.size());
}

BufferDType argDType(const ArgSpec &arg, const KernelSpec &kernel) {
  if (arg.dtypeParam.empty())
    return arg.dtype;
  auto it = kernel.params.find(std::string(arg.dtypeParam));
  if (it == kernel.params.end())
    return arg.dtype;
  const auto *text = std::get_if<std::string>(&it->second);
  const std::optional<BufferDType> dtype = text ? parseBufferDType(*text) : std::nullopt;
  if (!dtype)
    fail("kernel '{}': params.{} is not a buffer dtype (argument {})", kernel.name,
         arg.dtypeParam, arg.name);
  return *dtype;
}

std::string familyNames() {
  std::string names;
  for (const FamilySpec &family : table())
    names += (names.empty() ? "" : ", ") + std::string(family.name);
  return names;
}

} // namespace greta::bundle
