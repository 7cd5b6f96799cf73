//===- families.h - Factories of the CPU kernel families -------------------===//
//
// One factory per family of docs/bundle-format.md, each defined in the file of its family group
// (embedding.cpp, rms_norm.cpp, matmul.cpp (with cast_f16), rope.cpp, kv_append.cpp,
// attention.cpp, elementwise.cpp, audit_stats.cpp, dequant_f16.cpp). kernel_registry.cpp maps
// family names to them.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/bundle/audit_record.h"
#include "runtime/cpu/cpu_kernel.h"

#include <span>

namespace greta::cpu {

std::unique_ptr<CpuLaunch> makeEmbedding(const LaunchBinding &binding);
std::unique_ptr<CpuLaunch> makeRmsNorm(const LaunchBinding &binding);
std::unique_ptr<CpuLaunch> makeAddRmsNorm(const LaunchBinding &binding);
std::unique_ptr<CpuLaunch> makeMatmul(const LaunchBinding &binding);
std::unique_ptr<CpuLaunch> makeMatmulGateUp(const LaunchBinding &binding);
std::unique_ptr<CpuLaunch> makeMatmulQKV(const LaunchBinding &binding);
std::unique_ptr<CpuLaunch> makeLmHead(const LaunchBinding &binding);
std::unique_ptr<CpuLaunch> makeRope(const LaunchBinding &binding);
std::unique_ptr<CpuLaunch> makeRopeKvAppend(const LaunchBinding &binding);
std::unique_ptr<CpuLaunch> makeKvAppend(const LaunchBinding &binding);
std::unique_ptr<CpuLaunch> makeAttention(const LaunchBinding &binding);
std::unique_ptr<CpuLaunch> makeSiluMul(const LaunchBinding &binding);
std::unique_ptr<CpuLaunch> makeAdd(const LaunchBinding &binding);
std::unique_ptr<CpuLaunch> makeAuditStats(const LaunchBinding &binding);
std::unique_ptr<CpuLaunch> makeDequantF16(const LaunchBinding &binding);
std::unique_ptr<CpuLaunch> makeCastF16(const LaunchBinding &binding);

/// The audit record of one row (what an audit_stats launch writes); `isLogits` adds the top-2.
bundle::AuditStatsRecord computeAuditStats(std::span<const float> row, bool isLogits);

} // namespace greta::cpu
