// RUN: greta-synth -o %t.gguf --preset tiny --quant q4_k_m 2> /dev/null
// RUN: rm -rf %t.ir
// RUN: greta-compile %t.gguf --dump-ir %t.ir --stop-after-stage emit-hip > %t.final.mlir
// RUN: FileCheck %s --check-prefix=IMPORT < %t.ir/00-import.mlir
// RUN: FileCheck %s --check-prefix=SPECIALIZE < %t.ir/01-specialize-phases.mlir
// RUN: FileCheck %s --check-prefix=AUDIT < %t.ir/02-insert-audit.mlir
// RUN: FileCheck %s --check-prefix=FUSE < %t.ir/03-fuse.mlir
// RUN: FileCheck %s --check-prefix=ROUTES < %t.ir/04-select-routes.mlir
// RUN: FileCheck %s --check-prefix=LOWER < %t.ir/05-lower-to-kernels.mlir
// RUN: ls %t.ir | FileCheck %s --check-prefix=FILES
// RUN: ls %t.ir/06-emit-hip | FileCheck %s --check-prefix=HIP
// RUN: tail -n +2 %t.ir/05-lower-to-kernels.mlir | diff - %t.final.mlir

// Tests that --dump-ir writes one numbered file per stage, and emit-hip's kernels into a
// folder of their own.
// FILES: 00-import.mlir
// FILES-NEXT: 01-specialize-phases.mlir
// FILES-NEXT: 02-insert-audit.mlir
// FILES-NEXT: 03-fuse.mlir
// FILES-NEXT: 04-select-routes.mlir
// FILES-NEXT: 05-lower-to-kernels.mlir
// FILES-NEXT: 06-emit-hip

// Tests that each file is headed by its stage, and shows that stage's effect. 00: the
// importer's single @forward over a dynamic sequence.
// IMPORT: // GRETA stage 00-import
// IMPORT: greta.weight @output : !greta.weight<256x{{[0-9]+}}, q6_k>
// IMPORT: func.func @forward(%{{.*}}: tensor<?xi32>, %{{.*}}: tensor<?xi32>) -> tensor<?x{{[0-9]+}}xf32>
// IMPORT-NOT: greta.phase

// 01: @prefill and @decode (static shapes) replace @forward.
// SPECIALIZE: // GRETA stage 01-specialize-phases: greta-specialize-phases
// SPECIALIZE-NOT: @forward
// SPECIALIZE: func.func @prefill(%{{.*}}: tensor<?xi32>, %{{.*}}: tensor<?xi32>) -> tensor<1x{{[0-9]+}}xf32> attributes {greta.phase = #greta<phase prefill>}
// SPECIALIZE: greta.lm_head %{{.*}}, @output last_only
// SPECIALIZE: func.func @decode(%{{.*}}: tensor<1xi32>, %{{.*}}: tensor<1xi32>) -> tensor<1x{{[0-9]+}}xf32> attributes {greta.phase = #greta<phase decode>}
// SPECIALIZE-NOT: @forward

// 02: audits at the final RMSNorm and the LM head, in both phases.
// AUDIT: // GRETA stage 02-insert-audit: greta-insert-audit{audit=default}
// AUDIT-LABEL: func.func @prefill
// AUDIT: %[[PF:.*]] = greta.audit final_rmsnorm
// AUDIT-NEXT: %[[PL:.*]] = greta.lm_head %[[PF]], @output last_only
// AUDIT-NEXT: greta.audit lm_head %[[PL]] : tensor<1x{{[0-9]+}}xf32>
// AUDIT-LABEL: func.func @decode
// AUDIT: %[[DF:.*]] = greta.audit final_rmsnorm %{{.*}} : tensor<1x256xf32>
// AUDIT-NEXT: %[[DL:.*]] = greta.lm_head %[[DF]], @output
// AUDIT-NEXT: greta.audit lm_head %[[DL]]

// 03: fused forms: norm prologues, rope_kv_append, residual and SwiGLU epilogues; no loose
// silu_mul, rope, kv_append or add remains.
// FUSE: // GRETA stage 03-fuse: greta-fuse
// FUSE-LABEL: func.func @prefill
// FUSE: greta.matmul %{{.*}}, @blk0_attn_q rms_norm(@blk0_attn_norm
// FUSE: greta.rope_kv_append
// FUSE: greta.matmul %{{.*}}, @blk0_attn_output residual_add
// FUSE: greta.matmul %{{.*}}, @blk0_ffn_gate rms_norm(@blk0_ffn_norm, eps = {{.*}}) silu_mul(@blk0_ffn_up)
// FUSE: greta.matmul %{{.*}}, @blk0_ffn_down residual_add
// FUSE-NOT: greta.silu_mul
// FUSE-NOT: greta.rope %
// FUSE-NOT: greta.kv_append
// FUSE-NOT: greta.add %
// FUSE: greta.rms_norm %{{.*}}, @output_norm
// FUSE-NEXT: greta.audit final_rmsnorm

// 04: routes differ between the phases, for the matmuls and for the LM head; the KV caches
// are binary16 (--kv-cache-dtype=auto with the default GPU target).
// ROUTES: // GRETA stage 04-select-routes: greta-select-routes{force-route= fp16-weights= kv-cache-dtype=f16}
// ROUTES: greta.kv_cache @kv0 : !greta.kv<ctx = {{[0-9]+}}, kv_heads = {{[0-9]+}}, head_dim = {{[0-9]+}}, dtype = f16>
// ROUTES-LABEL: func.func @prefill
// ROUTES: greta.matmul %{{.*}}, @blk0_attn_q {{.*}} route gemm
// ROUTES: greta.matmul %{{.*}}, @blk1_ffn_down {{.*}} route gemm
// ROUTES: greta.lm_head %{{.*}}, @output last_only route gemv
// ROUTES-LABEL: func.func @decode
// ROUTES: greta.matmul %{{.*}}, @blk0_attn_q {{.*}} route gemv
// ROUTES: greta.matmul %{{.*}}, @blk1_ffn_down {{.*}} route gemv
// ROUTES-NOT: route gemm
// ROUTES: greta.lm_head %{{.*}}, @output route gemv

// 05: gk kernels and one plan per phase replace the functions; the weights stay symbols.
// LOWER: // GRETA stage 05-lower-to-kernels: greta-lower-to-kernels
// LOWER-NOT: func.func
// LOWER: greta.weight @output
// LOWER: gk.kernel @prefill_{{.*}} route gemm
// LOWER: gk.kernel @decode_{{.*}} route gemv
// LOWER: gk.plan @prefill
// LOWER: gk.audit_launch final_rmsnorm
// LOWER: gk.audit_launch lm_head
// LOWER: gk.plan @decode
// LOWER-NOT: func.func

// 06: one HIP source per kernel, for each phase.
// HIP: decode_lm_head_{{.*}}.hip
// HIP: decode_matmul_gate_up_{{.*}}.hip
// HIP: prefill_lm_head_{{.*}}.hip

// Tests that emit-hip leaves the IR as lowering made it: the printed final IR is stage 05's
// without its header comment.
