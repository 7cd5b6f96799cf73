//===- kernel_work.h - What one launch reads and computes -------------------===//
//
// The two numbers a roofline needs, per launch of a bundle's plan: bytes of weights read and
// floating-point operations. Both come from the manifest alone (the kernel's family and shape
// params, the weights it names), so every backend and tool counts them the same way:
//
//   weight bytes  every weight argument in full (matmul/lm_head matrices, norm vectors), as the
//                 backend holds it (Bundle::weightBytes: after any repack); an embedding reads
//                 only its `rows` token rows of the table (rows × table bytes / table rows).
//                 RoPE frequency tables (a few hundred bytes, a param, not an argument) and the
//                 KV cache (an activation) are not weights and are not counted.
//   FLOPs         matmul 2·M·N·K with M the launch's rows (the run's seq); matmul_gate_up twice
//                 that (gate and up); matmul_qkv 2·M·(heads + 2·kv_heads)·head_dim·K; lm_head 2·N·K (one row, whatever the seq); attention
//                 4·heads·head_dim per query and key it scores (QKᵀ and PV, 2 each), over the
//                 keys the causal mask lets each query see: position + 1. Other families
//                 (norms, RoPE, elementwise) are bandwidth-bound and count 0.
//
// Thread-safety: pure functions.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/bundle/manifest.h"

#include <cstdint>
#include <span>

namespace greta::bundle {
class Bundle;
}

namespace greta::engine {

struct LaunchWork {
  uint64_t weightBytes = 0;
  double flops = 0;

  LaunchWork &operator+=(const LaunchWork &other) {
    weightBytes += other.weightBytes;
    flops += other.flops;
    return *this;
  }
};

/// The work of `launch` in a run of `seq` tokens whose positions are the first `seq` of
/// `positions` (only attention reads them). Throws greta::Error for a launch the manifest
/// does not describe (unknown kernel or family).
LaunchWork launchWork(const bundle::Bundle &bundle, const bundle::Launch &launch, uint64_t seq,
                      std::span<const int32_t> positions);

/// The sum over `plan`'s launches for one run of `seq` tokens at `positions`.
LaunchWork phaseWork(const bundle::Bundle &bundle, const bundle::PhasePlan &plan, uint64_t seq,
                     std::span<const int32_t> positions);

} // namespace greta::engine
