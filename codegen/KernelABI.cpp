//===- KernelABI.cpp - How the runtime calls an emitted kernel ------------===//

#include "codegen/KernelABI.h"

#include "llvm/Support/ErrorHandling.h"

namespace greta::codegen {
namespace {

using mlir::gk::KernelFamily;
using A = ArgAccess;
using D = ArgData;

constexpr KernelArg kEmbedding[] = {{"tokens", A::Read, D::I32Rows},
                                    {"table", A::Read, D::WeightBytes},
                                    {"out", A::Write, D::F32Rows}};
constexpr KernelArg kRmsNorm[] = {
    {"x", A::Read, D::F32Rows}, {"weight", A::Read, D::NormWeight}, {"out", A::Write, D::F32Rows}};
constexpr KernelArg kAddRmsNorm[] = {{"a", A::Read, D::F32Rows},
                                     {"b", A::Read, D::F32Rows},
                                     {"weight", A::Read, D::NormWeight},
                                     {"sum", A::Write, D::F32Rows},
                                     {"out", A::Write, D::F32Rows}};
constexpr KernelArg kMatmul[] = {
    {"x", A::Read, D::F32Rows}, {"weight", A::Read, D::WeightBytes}, {"out", A::Write, D::F32Rows}};
constexpr KernelArg kGateUp[] = {{"x", A::Read, D::F32Rows},
                                 {"gate", A::Read, D::WeightBytes},
                                 {"up", A::Read, D::WeightBytes},
                                 {"out", A::Write, D::F32Rows}};
constexpr KernelArg kQKV[] = {{"x", A::Read, D::F32Rows},
                              {"q_weight", A::Read, D::WeightBytes},
                              {"k_weight", A::Read, D::WeightBytes},
                              {"v_weight", A::Read, D::WeightBytes},
                              {"q", A::Write, D::F32Rows},
                              {"k", A::Write, D::F32Rows},
                              {"v", A::Write, D::F32Rows},
                              {"positions", A::Read, D::I32Rows},
                              {"k_cache", A::Write, D::KVCache},
                              {"v_cache", A::Write, D::KVCache}};
constexpr KernelArg kRope[] = {{"x", A::ReadWrite, D::F32Rows}, {"positions", A::Read, D::I32Rows}};
constexpr KernelArg kKVAppend[] = {{"k", A::Read, D::F32Rows},
                                   {"v", A::Read, D::F32Rows},
                                   {"positions", A::Read, D::I32Rows},
                                   {"k_cache", A::Write, D::KVCache},
                                   {"v_cache", A::Write, D::KVCache}};
constexpr KernelArg kRopeKVAppend[] = {
    {"q", A::ReadWrite, D::F32Rows},   {"k", A::ReadWrite, D::F32Rows},
    {"v", A::Read, D::F32Rows},        {"positions", A::Read, D::I32Rows},
    {"k_cache", A::Write, D::KVCache}, {"v_cache", A::Write, D::KVCache}};
constexpr KernelArg kAttention[] = {{"q", A::Read, D::F32Rows},
                                    {"k_cache", A::Read, D::KVCache},
                                    {"v_cache", A::Read, D::KVCache},
                                    {"positions", A::Read, D::I32Rows},
                                    {"out", A::Write, D::F32Rows}};
constexpr KernelArg kSiluMul[] = {
    {"gate", A::Read, D::F32Rows}, {"up", A::Read, D::F32Rows}, {"out", A::Write, D::F32Rows}};
constexpr KernelArg kAdd[] = {
    {"a", A::Read, D::F32Rows}, {"b", A::Read, D::F32Rows}, {"out", A::Write, D::F32Rows}};
constexpr KernelArg kLmHead[] = {
    {"x", A::Read, D::F32Rows}, {"weight", A::Read, D::WeightBytes}, {"out", A::Write, D::F32Rows}};
constexpr KernelArg kAuditStats[] = {{"x", A::Read, D::F32Rows},
                                     {"stats", A::Write, D::AuditRecord}};
constexpr KernelArg kDequantF16[] = {{"weight", A::Read, D::WeightBytes},
                                     {"out", A::Write, D::F16Scratch}};
constexpr KernelArg kCastF16[] = {{"x", A::Read, D::F32Rows}, {"out", A::Write, D::F16Rows}};

/// What the fused bodies add (mlir::gk::getExpectedArgs appends them in this order).
constexpr KernelArg kNormArg = {"norm", A::Read, D::NormWeight};
constexpr KernelArg kResidualArg = {"residual", A::Read, D::F32Rows};
/// What a gemm kernel reading binary16 weights adds last (dequant_f16 wrote them).
constexpr KernelArg kF16Weight[] = {{"x_f16", A::Read, D::F16Rows},
                                    {"weight_f16", A::Read, D::F16Scratch}};
constexpr KernelArg kF16GateUp[] = {{"x_f16", A::Read, D::F16Rows},
                                    {"gate_f16", A::Read, D::F16Scratch},
                                    {"up_f16", A::Read, D::F16Scratch}};

llvm::ArrayRef<KernelArg> baseArgs(KernelFamily family) {
  switch (family) {
  case KernelFamily::Embedding:
    return kEmbedding;
  case KernelFamily::RmsNorm:
    return kRmsNorm;
  case KernelFamily::AddRmsNorm:
    return kAddRmsNorm;
  case KernelFamily::Matmul:
    return kMatmul;
  case KernelFamily::MatmulGateUp:
    return kGateUp;
  case KernelFamily::Rope:
    return kRope;
  case KernelFamily::KVAppend:
    return kKVAppend;
  case KernelFamily::RopeKVAppend:
    return kRopeKVAppend;
  case KernelFamily::Attention:
    return kAttention;
  case KernelFamily::SiluMul:
    return kSiluMul;
  case KernelFamily::Add:
    return kAdd;
  case KernelFamily::LmHead:
    return kLmHead;
  case KernelFamily::AuditStats:
    return kAuditStats;
  case KernelFamily::MatmulQKV:
    return kQKV;
  case KernelFamily::DequantF16:
    return kDequantF16;
  case KernelFamily::CastF16:
    return kCastF16;
  }
  llvm_unreachable("unknown KernelFamily");
}

} // namespace

llvm::SmallVector<KernelArg> getKernelArgs(KernelFamily family, bool hasPrologue,
                                           bool hasEpilogue, bool f16Weights) {
  llvm::SmallVector<KernelArg> args(baseArgs(family));
  const mlir::gk::FamilyTraits &traits = mlir::gk::getFamilyTraits(family);
  if (hasPrologue && traits.prologue != mlir::gk::BodyUse::Never)
    args.push_back(kNormArg);
  if (hasEpilogue && traits.epilogueArg)
    args.push_back(kResidualArg);
  if (f16Weights) {
    llvm::ArrayRef<KernelArg> f16 = family == KernelFamily::MatmulGateUp
                                        ? llvm::ArrayRef<KernelArg>(kF16GateUp)
                                        : llvm::ArrayRef<KernelArg>(kF16Weight);
    args.append(f16.begin(), f16.end());
  }
  return args;
}

bool hasRopeFreqsField(KernelFamily family) {
  return family == KernelFamily::Rope || family == KernelFamily::RopeKVAppend ||
         family == KernelFamily::MatmulQKV;
}

std::string getParamFields(KernelFamily family, bool hasPrologue, bool hasEpilogue,
                           bool f16Weights) {
  std::string fields;
  for (const KernelArg &arg : getKernelArgs(family, hasPrologue, hasEpilogue, f16Weights))
    fields += (fields.empty() ? "" : ",") + arg.name.str();
  if (hasRopeFreqsField(family))
    fields += ",freqs";
  return fields + ",rows,ctx";
}

std::string getFieldType(const KernelArg &arg) {
  std::string constness = arg.access == ArgAccess::Read ? "const " : "";
  switch (arg.data) {
  case ArgData::F32Rows:
  case ArgData::NormWeight:
    return constness + "float *";
  case ArgData::KVCache: // float or binary16 bits: the kernel's `KVValue` (kv_dtype)
    return constness + "KVValue *";
  case ArgData::I32Rows:
    return constness + "i32 *";
  case ArgData::WeightBytes:
    return constness + "u8 *";
  case ArgData::F16Scratch:
  case ArgData::F16Rows:
    return constness + "u16 *";
  case ArgData::AuditRecord:
    return constness + "AuditRecord *";
  }
  llvm_unreachable("unknown ArgData");
}

} // namespace greta::codegen
