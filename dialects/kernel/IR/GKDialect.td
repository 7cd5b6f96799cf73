//===- GKDialect.td - the gk kernel dialect ----------------*- tablegen -*-===//
//
// The `gk` dialect: the kernels one phase runs, the buffers they bind, and the ordered launch
// plan of each phase, as `greta-lower-to-kernels` produces them and `greta-emit-hip` reads them.
//
//===----------------------------------------------------------------------===//

#ifndef GRETA_KERNEL_IR_GKDIALECT_TD
#define GRETA_KERNEL_IR_GKDIALECT_TD

include "mlir/IR/OpBase.td"

def GK_Dialect : Dialect {
  let name = "gk";
  let cppNamespace = "::mlir::gk";
  let summary = "Kernels, buffers and per-phase launch plans";
  let description = [{
    A module in `gk` form holds, at module level:

    * `gk.kernel` symbols: one kernel each, of a family of docs/bundle-format.md (`matmul`,
      `attention`, ...) and a route (`gemv`, `gemm`, `split_kv`, `flash`) that together pick
      the HIP template, with its quant type, tile sizes, constants (`params`) and the bodies
      of a fused prologue and epilogue as small element-wise regions of `arith`/`math` ops
      that the HIP emitter turns into expressions;
    * `gk.buffer` symbols: activations, inputs, weights, KV caches, logits and audit records,
      each sized in bytes or by a shape that is a function of the sequence length (and, for
      KV caches, of the context length chosen at run time);
    * one `gk.plan` per phase (`@prefill`, `@decode`): the ordered `gk.launch` and
      `gk.audit_launch` ops, each binding buffers to a kernel and giving its grid as an affine
      map of the sequence length.

    ```mlir
    greta.weight @attn_norm : !greta.weight<4096, f32> {gguf_name = "blk.0.attn_norm.weight"}
    gk.buffer @hidden activation shape(affine_map<(s) -> (s, 4096)>, f32)
    gk.buffer @normed activation shape(affine_map<(s) -> (s, 4096)>, f32)
    gk.buffer @w_attn_norm weight bytes(16384) source(@attn_norm)
    gk.kernel @rms_norm_4096 rms_norm(activation, weight, activation) params {eps = 1.0e-5 : f32}
    gk.plan @decode {
      gk.launch @rms_norm_4096(@hidden, @w_attn_norm, @normed) grid = affine_map<(s) -> (s)>
    }
    ```

    Buffers, kernels, plans and the `greta.weight` symbols they name share the module's symbol
    table, so a weight buffer needs a name of its own. Quant types and audit points are the
    `greta` dialect's.
  }];
  let dependentDialects = ["::mlir::greta::GretaDialect", "::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect"];
  let useDefaultAttributePrinterParser = 1;
  let extraClassDeclaration = [{
  private:
    // In the file that defines the storage classes (GKAttrs.cpp).
    void registerAttributes();

  public:
  }];
}

/// Base class of every `gk` operation.
class GK_Op<string mnemonic, list<Trait> traits = []> : Op<GK_Dialect, mnemonic, traits>;

#endif // GRETA_KERNEL_IR_GKDIALECT_TD
