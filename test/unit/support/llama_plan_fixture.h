//===- llama_plan_fixture.h - A mock compiler for runtime tests ------------===//
//
// TESTS ONLY. Until greta-compile writes bundles, the runtime's tests need bundles shaped the way
// the compiler will shape them: this fixture builds the BundleSpec of a GGUF Llama model — the
// per-phase launch plans, buffers, kernels and audit points of docs/bundle-format.md — in the
// variants the compiler offers (fused or unfused, audits on or off, embedded or external
// weights, some weights in f16_rows, f32 or f16 KV caches). It is a stand-in with no optimisation and no HIP: the
// kernel sources it writes are placeholders. The compiler's own tests must not use it.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/bundle/bundle_writer.h"

#include <string>
#include <vector>

namespace greta::test {

struct LlamaPlanOptions {
  /// Fused: rms_norm prologues in matmuls, rope_kv_append, matmul_gate_up, decode's
  /// matmul_qkv, residual epilogues, add_rms_norm. Unfused: one launch per op (rms_norm, matmul, rope, kv_append, silu_mul, add).
  bool fuse = true;
  /// audit_stats after the final RMSNorm and the LM head, in both phases.
  bool audits = true;
  bundle::WeightMode weights = bundle::WeightMode::Embed;
  /// Weights stored in layout f16_rows (e.g. "output.weight"), as --fp16-weights would.
  std::vector<std::string> fp16Weights{};
  /// The final_rmsnorm audit entry names its `input` buffer (the pre-norm hidden state); false
  /// leaves the runtime to infer it from the norm launch.
  bool auditInput = true;
  /// Each phase also carries "lm_head=<other route>": the same plan with the LM head on the
  /// route the phase does not use (gemv in prefill, gemm in decode), for --force-route.
  bool lmHeadAlternatives = false;
  /// Prefill's matmuls read binary16 operands, as greta-compile lowers them for matrix units:
  /// each after a cast_f16 of its input into x16.K and a dequant_f16 of each weight into the
  /// scratch buffers w16.0 / w16.1 (x_f16, weight_f16 / gate_f16 and up_f16 arguments).
  bool f16Gemm = false;
  /// KV caches of binary16 values (dtype f16), as greta-compile --kv-cache-dtype=f16 makes them:
  /// every launch that takes k_cache / v_cache gets params.kv_dtype = "f16".
  bool kvF16 = false;
};

/// The BundleSpec of the Llama model in `ggufPath`, as the compiler would build it.
bundle::BundleSpec buildLlamaPlan(const std::string &ggufPath,
                                  const LlamaPlanOptions &options = {});

/// Builds the plan and writes the bundle to `dir`; returns `dir`.
std::string writeLlamaBundle(const std::string &ggufPath, const std::string &dir,
                             const LlamaPlanOptions &options = {});

} // namespace greta::test
