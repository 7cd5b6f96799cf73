//===- kernel_registry.cpp - Which CPU code runs each kernel family --------===//
#include "runtime/cpu/kernel_registry.h"

#include "runtime/cpu/kernels/families.h"

#include <array>
#include <utility>

namespace greta::cpu {
namespace {

constexpr std::array<std::pair<std::string_view, CpuLaunchFactory>, 16> kFactories = {{
    {"embedding", makeEmbedding},
    {"rms_norm", makeRmsNorm},
    {"add_rms_norm", makeAddRmsNorm},
    {"matmul", makeMatmul},
    {"matmul_gate_up", makeMatmulGateUp},
    {"matmul_qkv", makeMatmulQKV},
    {"rope", makeRope},
    {"kv_append", makeKvAppend},
    {"rope_kv_append", makeRopeKvAppend},
    {"attention", makeAttention},
    {"silu_mul", makeSiluMul},
    {"add", makeAdd},
    {"lm_head", makeLmHead},
    {"audit_stats", makeAuditStats},
    {"dequant_f16", makeDequantF16},
    {"cast_f16", makeCastF16},
}};

} // namespace

CpuLaunchFactory findCpuFactory(std::string_view family) {
  for (const auto &[name, factory] : kFactories)
    if (name == family)
      return factory;
  return nullptr;
}

} // namespace greta::cpu
