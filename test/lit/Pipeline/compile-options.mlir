// RUN: greta-synth -o %t.gguf --preset tiny --quant q4_k_m 2> /dev/null
// RUN: greta-compile %t.gguf --no-fuse --stop-after-stage select-routes | FileCheck %s --check-prefix=NOFUSE
// RUN: rm -rf %t.nofuse && greta-compile %t.gguf --no-fuse --dump-ir %t.nofuse --stop-after-stage fuse > /dev/null
// RUN: FileCheck %s --check-prefix=NOFUSE-STAGE < %t.nofuse/03-fuse.mlir
// RUN: greta-compile %t.gguf --audit none --stop-after-stage select-routes | FileCheck %s --check-prefix=NOAUDIT
// RUN: greta-compile %t.gguf --audit=all-layers --stop-after-stage insert-audit | FileCheck %s --check-prefix=LAYERS
// RUN: greta-compile %t.gguf --force-route lm_head=gemv --stop-after-stage select-routes | FileCheck %s --check-prefix=FORCE
// RUN: greta-compile %t.gguf --force-route lm_head.prefill=gemv,matmul.decode=gemm --stop-after-stage 04-select-routes | FileCheck %s --check-prefix=PHASED
// RUN: greta-compile %t.gguf --fp16-weights lm_head --stop-after-stage select-routes | FileCheck %s --check-prefix=FP16
// RUN: greta-compile %t.gguf --gemv-tiles 512x256=16:1,256x512=32 --stop-after-stage lower-to-kernels | FileCheck %s --check-prefix=GEMVTILES
// RUN: greta-compile %t.gguf --gemm-tiles 256x512=128x64 --stop-after-stage lower-to-kernels | FileCheck %s --check-prefix=GEMMTILES
// RUN: greta-compile %t.gguf --stop-after-stage fuse --mlir-print-ir-after-all 2>&1 > /dev/null | FileCheck %s --check-prefix=PRINT
// RUN: greta-compile %t.gguf --stop-after-stage specialize-phases -o %t.spec.mlir
// RUN: greta-opt %t.spec.mlir --greta-insert-audit | FileCheck %s --check-prefix=ROUNDTRIP

// Tests that --gemv-tiles reaches greta-lower-to-kernels: the down projections (512 x 256) at 16
// rows without a split (the policy's: 8 rows in two halves), gate_up (256 x 512) at 32 rows.
// GEMVTILES: gk.kernel @decode_matmul_gate_up_q4_k_256x512_norm {{.*}} tiles<tile_n = 32, tile_k = 256>
// GEMVTILES: gk.kernel @decode_matmul_q4_k_512x256_residual {{.*}} tiles<tile_n = 16, tile_k = 256>

// Tests that --gemm-tiles reaches greta-lower-to-kernels: prefill's gate_up (256 x 512) at 128 x
// 64 (the policy's: 64 x 64 for a grid this small).
// GEMMTILES: gk.kernel @prefill_matmul_gate_up_q4_k_256x512_norm {{.*}} tiles<tile_m = 128, tile_n = 64,

// Tests that --no-fuse skips greta-fuse: the layer ops stay separate, and are still routed.
// NOFUSE-LABEL: func.func @prefill
// NOFUSE: greta.rms_norm
// NOFUSE: greta.matmul %{{.*}}, @blk0_attn_q route gemm
// NOFUSE: greta.rope
// NOFUSE: greta.kv_append
// NOFUSE: greta.silu_mul
// NOFUSE-NOT: rope_kv_append
// NOFUSE-NOT: residual_add
// NOFUSE-LABEL: func.func @decode
// NOFUSE: greta.matmul %{{.*}}, @blk0_attn_q route gemv
// NOFUSE-NOT: silu_mul(

// Tests that the 03-fuse stage file is still written, saying that nothing ran.
// NOFUSE-STAGE: // GRETA stage 03-fuse: none (--no-fuse)
// NOFUSE-STAGE: greta.silu_mul

// Tests that --audit none leaves no audit in either phase.
// NOAUDIT-LABEL: func.func @prefill
// NOAUDIT-NOT: greta.audit
// NOAUDIT: greta.lm_head
// NOAUDIT-NOT: greta.audit

// Tests that --audit=all-layers audits each layer's output in both phases, besides the
// default points.
// LAYERS-LABEL: func.func @prefill
// LAYERS: greta.audit layer_output %{{.*}} layer 0 : tensor<?x256xf32>
// LAYERS: greta.audit layer_output %{{.*}} layer 1 : tensor<?x256xf32>
// LAYERS: greta.audit final_rmsnorm
// LAYERS: greta.audit lm_head
// LAYERS-LABEL: func.func @decode
// LAYERS: greta.audit layer_output %{{.*}} layer 0 : tensor<1x256xf32>
// LAYERS: greta.audit layer_output %{{.*}} layer 1 : tensor<1x256xf32>

// Tests --force-route: the LM head of both phases on gemv, the matmuls as the phases choose.
// FORCE-LABEL: func.func @prefill
// FORCE: greta.matmul {{.*}} route gemm
// FORCE: greta.lm_head %{{.*}}, @output last_only route gemv
// FORCE-LABEL: func.func @decode
// FORCE: greta.lm_head %{{.*}}, @output route gemv

// Tests per-phase --force-route entries given as one comma-separated list.
// PHASED-LABEL: func.func @prefill
// PHASED: greta.matmul {{.*}} route gemm
// PHASED: greta.lm_head {{.*}} route gemv
// PHASED-LABEL: func.func @decode
// PHASED: greta.matmul {{.*}} route gemm
// PHASED: greta.lm_head {{.*}} route gemv

// Tests that --fp16-weights lm_head is visible in the IR as the LM head weight's policy.
// FP16: greta.weight @output : !greta.weight<256x{{[0-9]+}}, q6_k> {gguf_name = "output.weight", policy = #greta<policy fp16>}

// Tests that MLIR's --mlir-print-ir-after-all works through greta-compile's stages.
// PRINT: IR Dump After SpecializePhases (greta-specialize-phases)
// PRINT: IR Dump After InsertAudit (greta-insert-audit)
// PRINT: IR Dump After Fuse (greta-fuse)
// PRINT-NOT: IR Dump After SelectRoutes

// Tests that a stage's IR, written with -o, is valid input for greta-opt's passes.
// ROUNDTRIP: greta.audit final_rmsnorm
// ROUNDTRIP: greta.audit lm_head
