//===- Passes.td - GRETA's compiler passes -----------------*- tablegen -*-===//
//
// The pipeline after import (compiler/Pipeline.cpp runs them in this order): specialise the
// forward function into phases, insert audits, fuse, select routes, lower to `gk`, emit HIP.
//
//===----------------------------------------------------------------------===//

#ifndef GRETA_COMPILER_TRANSFORMS_PASSES_TD
#define GRETA_COMPILER_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def SpecializePhases : Pass<"greta-specialize-phases", "::mlir::ModuleOp"> {
  let summary = "clones @forward into @prefill and @decode";
  let description = [{
    Replaces the importer's `@forward` (dynamic sequence length) by two functions, each marked
    with `greta.phase`:

    * `@prefill`: any number of tokens (`seq >= 1`, still `?`); the LM head projects the last
      row only (`last_only`), so the function returns `tensor<1xVxf32>`;
    * `@decode`: one token; every `?` becomes `1`, so all shapes are static.

    ```mlir
    // before
    func.func @forward(%tok: tensor<?xi32>, %pos: tensor<?xi32>) -> tensor<?x256xf32>
    // after
    func.func @prefill(%tok: tensor<?xi32>, %pos: tensor<?xi32>) -> tensor<1x256xf32>
        attributes {greta.phase = #greta<phase prefill>}
    func.func @decode(%tok: tensor<1xi32>, %pos: tensor<1xi32>) -> tensor<1x256xf32>
        attributes {greta.phase = #greta<phase decode>}
    ```
  }];
  let dependentDialects = ["::mlir::greta::GretaDialect", "::mlir::func::FuncDialect"];
}

def InsertAudit : Pass<"greta-insert-audit", "::mlir::ModuleOp"> {
  let summary = "inserts greta.audit at the points the runtime's audit records";
  let description = [{
    In every function with an LM head (after `greta-specialize-phases`: `@prefill` and
    `@decode`): `greta.audit final_rmsnorm` after the RMSNorm that feeds the LM head and `greta.audit lm_head` after the LM head (`audit=default`); `audit=all-layers` also
    audits each layer's output (`layer_output`, with its layer). Later users read the audit's
    result, so the audited value is the one the program goes on with. `audit=none` removes
    every audit, leaving nothing of them in the program. Existing audits are not duplicated.

    ```mlir
    %f = greta.rms_norm %h, @output_norm eps = 1.000000e-05 : tensor<1x64xf32>
    %fa = greta.audit final_rmsnorm %f : tensor<1x64xf32>
    %l = greta.lm_head %fa, @output : tensor<1x64xf32> -> tensor<1x256xf32>
    %la = greta.audit lm_head %l : tensor<1x256xf32>
    ```
  }];
  let options = [
    Option<"audit", "audit", "std::string", /*default=*/"\"default\"",
           "which points to audit: none | default (final RMSNorm, LM head) | all-layers">,
  ];
  let dependentDialects = ["::mlir::greta::GretaDialect"];
}

def Fuse : Pass<"greta-fuse", "::mlir::ModuleOp"> {
  let summary = "fuses Llama layer ops into the greta dialect's fused forms";
  let description = [{
    * matmul + residual `greta.add` → `greta.matmul ... residual_add(%x)` (o-proj, down);
    * gate and up matmuls + `greta.silu_mul` → `greta.matmul @gate ... silu_mul(@up)`;
    * `greta.rms_norm` whose users are all matmuls → their `rms_norm(@w, eps)` prologue (a norm
      with any other user, such as an audit or the LM head, stays materialised);
    * a residual `greta.add` that no matmul can absorb, feeding a `greta.rms_norm` →
      `greta.add_rms_norm`;
    * `greta.rope` of keys + `greta.kv_append`, with the matching query rope →
      `greta.rope_kv_append`.

    Audits are never fused away. The result is the same whatever order the patterns apply in.

    ```mlir
    %o = greta.matmul %a, @blk0_attn_output residual_add(%x : tensor<1x64xf32>)
           : tensor<1x64xf32> -> tensor<1x64xf32>
    %gu = greta.matmul %o, @blk0_ffn_gate rms_norm(@blk0_ffn_norm, eps = 1.000000e-05)
            silu_mul(@blk0_ffn_up) : tensor<1x64xf32> -> tensor<1x128xf32>
    ```
  }];
  let dependentDialects = ["::mlir::greta::GretaDialect"];
}

def SelectRoutes : Pass<"greta-select-routes", "::mlir::ModuleOp"> {
  let summary = "chooses the route of every matrix product, and the weights' device precision";
  let description = [{
    Sets `route` on every `greta.matmul` and `greta.lm_head` of a phase function: `gemv`
    (vector ALUs, split-K) in `@decode`, `gemm` (matrix units) in `@prefill`. An op that already
    carries a route keeps it unless `force-route` names it. `force-route` entries are
    `OP=ROUTE` or `OP.PHASE=ROUTE` (`OP`: matmul | lm_head; `ROUTE`: gemv | gemm; `PHASE`:
    prefill | decode); a phase-specific entry wins over a general one.

    `fp16-weights` lists weight classes (`lm_head`, `embeddings`, `all` matrices) whose
    `greta.weight` gets `policy = #greta<policy fp16>`: dequantized to fp16 for the device.

    `kv-cache-dtype` (`f32` | `f16`; empty keeps each cache's type) sets the element type of
    every `greta.kv_cache`: how keys and values are stored, another device-precision choice
    (f16 halves the cache's memory and what decode attention reads, as llama.cpp's default
    `-ctk f16`; each stored value is rounded once to binary16).

    ```mlir
    // --greta-select-routes="force-route=lm_head.prefill=gemv fp16-weights=lm_head"
    greta.weight @output : !greta.weight<64x256, q6_k>
        {gguf_name = "output.weight", policy = #greta<policy fp16>}
    %l = greta.lm_head %f, @output last_only route gemv : tensor<?x64xf32> -> tensor<1x256xf32>
    ```
  }];
  let options = [
    ListOption<"forceRoutes", "force-route", "std::string",
               "OP=ROUTE or OP.PHASE=ROUTE overrides (OP: matmul|lm_head, ROUTE: gemv|gemm)">,
    ListOption<"fp16Weights", "fp16-weights", "std::string",
               "weight classes dequantized to fp16 for the device: lm_head|embeddings|all">,
    Option<"kvCacheDtype", "kv-cache-dtype", "std::string", /*default=*/"\"\"",
           "element type of every KV cache: f32|f16 (empty: as imported)">,
  ];
  let dependentDialects = ["::mlir::greta::GretaDialect"];
}

def LowerToKernels : Pass<"greta-lower-to-kernels", "::mlir::ModuleOp"> {
  let summary = "lowers the routed greta phase functions to gk kernels and plans";
  let description = [{
    Turns each phase function (`@prefill`, `@decode`, after `greta-select-routes`) into
    `gk.kernel` symbols, `gk.buffer` symbols and one `gk.plan` of ordered launches. The
    `greta.weight` symbols stay (weight buffers name them); the phase functions and the
    `greta.kv_cache` symbols are replaced by plans and `kv` buffers.

    * One `gk.kernel` per distinct (phase, family, route, quant, shape params, fused bodies),
      named after them (`decode_matmul_q4_k_4096x4096_norm`); tiles and the block size come
      from the `target` row of codegen/Targets.cpp. Fused matmul prologues and epilogues
      become `arith`/`math` bodies (`x * inv_rms * gamma`, `acc + residual`,
      `gate / (1 + exp(-gate)) * up`).
    * Buffers: `tokens` and `positions` (inputs), `logits`, one `kv` buffer per cache and
      side, one `audit` record per audit point, one `weight` buffer per weight, and
      activations reused by liveness (`act.4096.0`, ...), shared by both phases. A result
      takes a dying operand's buffer where the family may update it in place (residual
      epilogues, add, silu_mul, RMSNorm); audited and returned values keep theirs.
    * Launches bind buffers in the family's argument order (docs/bundle-format.md), with a
      grid `(mul * s + add) ceildiv div` per dimension of the launch's rows.

    ```mlir
    gk.kernel @decode_rms_norm_d64 rms_norm(activation, weight, activation)
        params {block = 256 : i64, dim = 64 : i64, eps = 9.99999974E-6 : f32}
    gk.plan @decode {
      gk.launch @decode_embedding_q8_0_d64(@tokens, @w.token_embd, @act.64.0)
          grid = affine_map<(d0) -> (d0)>
      gk.launch @decode_rms_norm_d64(@act.64.0, @w.output_norm, @act.64.1)
          grid = affine_map<(d0) -> (d0)>
      gk.audit_launch final_rmsnorm @decode_audit_stats_final_rmsnorm(@act.64.1,
          @audit.final_rmsnorm) grid = affine_map<(d0) -> (1)>
    }
    ```
  }];
  let options = [
    Option<"target", "target", "std::string", /*default=*/"\"sm_90\"",
           "target whose row of the tile table shapes the kernels (sm_90, gfx942, gfx90a, cpu)">,
    ListOption<"gemvTiles", "gemv-tiles", "std::string",
               "KxN=TILE_N or KxN=TILE_N:SPLIT_K: the tiles of every gemv product over a K x N "
               "weight instead of the tile policy's (for tile sweeps)">,
    ListOption<"gemmTiles", "gemm-tiles", "std::string",
               "KxN=TILE_MxTILE_N: the tiles of every gemm product over a K x N weight instead "
               "of the tile policy's (for tile sweeps and kernel tests)">,
  ];
  let dependentDialects = ["::mlir::greta::GretaDialect", "::mlir::gk::GKDialect",
                           "::mlir::arith::ArithDialect", "::mlir::math::MathDialect"];
}

def EmitHip : Pass<"greta-emit-hip", "::mlir::ModuleOp"> {
  let summary = "emits one HIP C++ source per gk.kernel";
  let description = [{
    Emits `<kernel>.hip` for every `gk.kernel` of the module from the templates of
    codegen/templates, with the kernel's constants baked in and its fused bodies written out
    (`arith.mulf` → `a * b`, `math.exp` → `expf`). With `output-dir` the sources are written
    there; without, they are printed to stdout, each after a line
    `// ===== gk.kernel @NAME (NAME.hip) =====` (what the lit tests check). `target` lists the
    targets the bundle is for (`cpu`, `sm_90`, `gfx942`, `gfx90a`); every name must be known,
    and the first GPU one is named in the banners. The IR is left unchanged.

    ```c++
    // greta-opt --greta-emit-hip
    // ===== gk.kernel @decode_matmul_q8_0_64x64_norm (decode_matmul_q8_0_64x64_norm.hip) =====
    __device__ __forceinline__ float prologue(float x, float gamma, float inv_rms) {
      const float t0 = x * inv_rms;
      const float t1 = t0 * gamma;
      return t1;
    }
    ```
  }];
  let options = [
    ListOption<"targets", "target", "std::string",
               "targets the kernels are emitted for (cpu, sm_XY, gfxNNN)">,
    Option<"outputDir", "output-dir", "std::string", /*default=*/"\"\"",
           "directory the .hip sources are written to (default: print them to stdout)">,
  ];
  let dependentDialects = ["::mlir::gk::GKDialect"];
}

#endif // GRETA_COMPILER_TRANSFORMS_PASSES_TD
