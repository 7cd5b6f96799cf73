//===- KernelEmitter.h - gk.kernel → HIP C++ source --------------*- C++ -*-===//
//
// Emits one complete, readable HIP C++ source per gk.kernel: the family's template
// (codegen/templates/<family>[_<route>].hip) with the kernel's constants baked in (K, N, eps,
// heads, tiles, block size), its Params struct (KernelABI.h), the decoder of its weight's
// quant type, and its fused prologue/epilogue bodies generated from the IR regions. The source
// includes "greta_prelude.h" (codegen/prelude) and is compiled at load by hipRTC or NVRTC; it
// never spells a warp size.
//
// Thread-safety: stateless; kernels may be emitted concurrently.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "codegen/Targets.h"
#include "dialects/kernel/IR/GKOps.h"

#include "mlir/Support/LogicalResult.h"

#include <cstdint>
#include <string>

namespace greta::codegen {

struct EmittedKernel {
  std::string name;         ///< the gk.kernel's symbol name
  std::string entry;        ///< the __global__ function (the name, as a C identifier)
  std::string fileName;     ///< "<name>.hip"
  std::string templatePath; ///< the template it was made from ("matmul_gemv")
  std::string source;       ///< the HIP C++ text
  std::string paramFields;  ///< the Params fields in order: the manifest's `param_fields`
  int64_t blockThreads = 0; ///< threads per block (1-D blocks)
  /// What a matrix product computes in (the manifest's dtype_a, dtype_b, accum_dtype):
  /// activations, dequantised weights, accumulators. f32 except on the matrix units (f16
  /// operands); empty for families without a weight matrix.
  std::string dtypeA, dtypeB, accumDtype;
  /// The kernel calls wait_for_producers() before touching memory that earlier launches use,
  /// so the runtime may start it before the launch ahead of it finishes (manifest early_start).
  bool earlyStart = false;
  /// Dynamic shared memory the kernel needs per block (manifest params.shared_bytes; 0: none,
  /// its shared memory is static).
  int64_t dynamicSharedBytes = 0;
};

/// The prelude call that makes a kernel safe to start early (greta_prelude.h).
inline constexpr const char *kWaitForProducersCall = "wait_for_producers();";

/// Emits `kernel`. `target` names the tile choices in the banner (tiles themselves are the
/// kernel's, chosen by greta-lower-to-kernels). Reports problems on the op and fails.
mlir::FailureOr<EmittedKernel> emitKernel(mlir::gk::KernelOp kernel, const TargetDesc &target);

/// The template a kernel of `family` and `route` is made from. The gemm route runs on the
/// target's matrix units (matmul_mma, or matmul_mma_f16 when it reads binary16 scratch weights)
/// where it has them, else on vector ALUs (matmul_gemm); flash attention likewise
/// (attention_flash_mma, or attention_flash_mma_f16 over binary16 KV caches; attention_flash).
std::string getTemplatePath(mlir::gk::KernelFamily family,
                            std::optional<mlir::gk::KernelRoute> route, MatrixUnit matrixUnit,
                            bool f16Weights = false, bool f16Cache = false);

/// `name` as a C identifier: characters other than letters, digits and '_' become '_'.
std::string toIdentifier(llvm::StringRef name);

} // namespace greta::codegen
