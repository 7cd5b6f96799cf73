//===- GKOps.td - gk operations ----------------------------*- tablegen -*-===//
//
// Kernels (with fused prologue/epilogue bodies), buffers, and per-phase launch plans.
//
//===----------------------------------------------------------------------===//

#ifndef GRETA_KERNEL_IR_GKOPS_TD
#define GRETA_KERNEL_IR_GKOPS_TD

include "dialects/kernel/IR/GKAttrs.td"
include "dialects/graph/IR/GretaAttrs.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

class GK_SymbolUserOp<string mnemonic, list<Trait> traits = []>
    : GK_Op<mnemonic, !listconcat(traits,
                                  [DeclareOpInterfaceMethods<SymbolUserOpInterface>])>;

//===----------------------------------------------------------------------===//
// Kernels
//===----------------------------------------------------------------------===//

def GK_KernelOp : GK_Op<"kernel", [Symbol, IsolatedFromAbove,
                                   HasParent<"::mlir::ModuleOp">]> {
  let summary = "one kernel: a template family specialised with constants and fused bodies";
  let description = [{
    `@name family(kinds...)` names the kernel, its family (docs/bundle-format.md) and the kinds
    of the buffers a `gk.launch` binds to it, in the family's argument order. The list is
    verified against the family's: for example `rms_norm(activation, weight, activation)`
    (x, weight, out), and for `matmul` (x, weight, out) followed by the norm weight when it has
    a prologue and the residual when it has an epilogue. A `logits` buffer may stand where an
    `activation` is expected (`audit_stats(logits, audit)` audits the LM head).

    * `route` picks the template within the family: `gemv` or `gemm` for `matmul`,
      `matmul_gate_up` and `lm_head` (required there), `gemv` for `matmul_qkv` (required),
      `split_kv` or `flash` for `attention` (required there); other families have none.
    * `quant` is the weight storage type, required exactly for the families that read a weight
      matrix (`embedding`, `matmul`, `matmul_gate_up`, `matmul_qkv`, `lm_head`).
    * `tiles` is required for the `gemm` and `flash` routes; `split_k > 1` only for `gemv` and
      `split_kv`. A quantized product's `tile_k` is a multiple of 32, so no tile splits a block.
    * `params` holds the target-independent constants the emitter bakes in (`k`, `n`, `eps`,
      `heads`, ...).

    `matmul_qkv(activation, weight, weight, weight, activation, activation, activation, input,
    kv, kv)` is attention's three products of one input in one launch (x; the q, k and v
    weights, q and k of `quant`, v of `params.v_quant` where that is given; q, k and v), with
    `rope_kv_append` fused into its stores (positions, the k and v caches): params `k`, `heads`,
    `kv_heads`, `head_dim`, `theta` and optionally `freqs`, as `rope_kv_append` has them.

    `dequant_f16(weight, scratch)` decodes a weight matrix (params `k`, `n`; `quant` its type)
    into a binary16 scratch buffer of at least `n * k` values, row after row. A `matmul` or
    `matmul_gate_up` of route `gemm` may then read its weight matrices from such buffers
    instead of decoding them per tile: its signature ends with the input as binary16 (an
    `activation` a `cast_f16` launch wrote) and one `scratch` per weight matrix (matmul: the
    weight; gate_up: gate, then up), after the norm weight and the residual.

    `cast_f16(activation, activation)` writes x (params `k` values a row) as binary16 rows,
    with the kernel's prologue applied (then the norm weight is a third argument), as the
    products on binary16 weights read their input.

    `matmul`, `matmul_gate_up` and `matmul_qkv` carry element-wise bodies, each one block of `arith`/`math`
    ops over `f32` block arguments ending in `gk.yield` of one `f32`:

    * `prologue` (optional; the only body of `matmul_qkv`): applied to each input element before the product, with arguments
      `(x, gamma, inv_rms)`: the element, the norm weight at its column and the row's `1/rms`.
    * `epilogue`: applied to each output, with arguments `(acc, residual)` for `matmul`
      (optional) and `(gate, up)`, the two accumulators, for `matmul_gate_up` (required).

    ```mlir
    gk.kernel @decode_ffn_gate_up matmul_gate_up(activation, weight, weight, activation, weight)
        route gemv quant q4_k tiles<tile_n = 4, tile_k = 256, split_k = 4>
        params {k = 4096 : i64, n = 14336 : i64}
        prologue {
        ^bb0(%x: f32, %gamma: f32, %inv_rms: f32):
          %0 = arith.mulf %x, %inv_rms : f32
          %1 = arith.mulf %0, %gamma : f32
          gk.yield %1 : f32
        } epilogue {
        ^bb0(%gate: f32, %up: f32):
          %c1 = arith.constant 1.0 : f32
          %n = arith.negf %gate : f32
          %e = math.exp %n : f32
          %d = arith.addf %e, %c1 : f32
          %s = arith.divf %gate, %d : f32
          %y = arith.mulf %s, %up : f32
          gk.yield %y : f32
        }
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name,
                       GK_KernelFamilyAttr:$family,
                       GK_BufferKindArrayAttr:$args,
                       OptionalAttr<GK_KernelRouteAttr>:$route,
                       OptionalAttr<Greta_QuantTypeAttr>:$quant,
                       OptionalAttr<GK_TilesAttr>:$tiles,
                       OptionalAttr<DictionaryAttr>:$params);
  let regions = (region MaxSizedRegion<1>:$prologue, MaxSizedRegion<1>:$epilogue);
  let assemblyFormat = [{
    $sym_name custom<KernelSignature>($family, $args)
    (`route` `` $route^)? (`quant` `` $quant^)? (`tiles` `` $tiles^)? (`params` $params^)?
    (`prologue` $prologue^)? (`epilogue` $epilogue^)? attr-dict-with-keyword
  }];
  let hasVerifier = 1;
  let hasRegionVerifier = 1;
  let extraClassDeclaration = [{
    /// The buffer kinds a launch binds, in order.
    ::llvm::SmallVector<BufferKind> getArgKinds();
    /// Tile sizes, all 1 when absent.
    TilesAttr getEffectiveTiles();
    /// True when the kernel reads its weight matrices as binary16 scratch buffers: a family
    /// that can (getF16WeightCount) whose signature ends with a scratch kind (the verifier
    /// wants one per weight matrix).
    bool hasF16Weights();
    /// True when the kernel reads and writes its KV caches as binary16 (params.kv_dtype is
    /// "f16"; absent or "f32": f32).
    bool hasF16KVCaches();
  }];
}

def GK_YieldOp : GK_Op<"yield", [Pure, Terminator, ReturnLike,
                                 HasParent<"KernelOp">]> {
  let summary = "result of a prologue or epilogue body";
  let description = [{
    ```mlir
    gk.yield %y : f32
    ```
  }];
  let arguments = (ins Variadic<AnyType>:$values);
  let assemblyFormat = "($values^ `:` type($values))? attr-dict";
}

//===----------------------------------------------------------------------===//
// Buffers
//===----------------------------------------------------------------------===//

def GK_BufferOp : GK_SymbolUserOp<"buffer", [Symbol, HasParent<"::mlir::ModuleOp">]> {
  let summary = "a device buffer that launches bind";
  let description = [{
    Sized either by `bytes(N)` or by `shape(map, type)`: `map` gives one or two dimensions
    (rows, columns), each a constant, the phase's sequence length `s`, or, for a `kv` buffer
    only, the context length `ctx` chosen at run time (a symbol): the row forms of
    docs/bundle-format.md. `type` is the element type. A `weight` buffer names the
    `greta.weight` it holds with `source(@w)` (its bytes are those of the layout the kernels
    read, which may differ from the GGUF's).

    ```mlir
    gk.buffer @hidden activation shape(affine_map<(s) -> (s, 4096)>, f32)
    gk.buffer @tokens input shape(affine_map<(s) -> (s)>, i32)
    gk.buffer @kv0_k kv shape(affine_map<(s)[ctx] -> (ctx, 1024)>, f16)
    gk.buffer @w_blk0_attn_q weight bytes(9437184) source(@blk0_attn_q)
    gk.buffer @audit_final audit bytes(256)
    gk.buffer @w16.0 scratch shape(affine_map<(s) -> (1, 58720256)>, f16)
    ```
    A `scratch` buffer has one row of a constant length.
  }];
  let arguments = (ins SymbolNameAttr:$sym_name,
                       GK_BufferKindAttr:$kind,
                       OptionalAttr<AffineMapAttr>:$shape,
                       OptionalAttr<TypeAttr>:$element_type,
                       OptionalAttr<I64Attr>:$bytes,
                       OptionalAttr<FlatSymbolRefAttr>:$source);
  let assemblyFormat = [{
    $sym_name `` $kind
    (`shape` `(` $shape^ `,` $element_type `)`)?
    (`bytes` `(` $bytes^ `)`)?
    (`source` `(` $source^ `)`)? attr-dict
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Plans
//===----------------------------------------------------------------------===//

def GK_PlanOp : GK_Op<"plan", [Symbol, HasParent<"::mlir::ModuleOp">, NoTerminator,
                               SingleBlock]> {
  let summary = "the ordered launches of one phase";
  let description = [{
    Named after its phase (`@prefill` or `@decode`). Holds only `gk.launch` and
    `gk.audit_launch`, run in order on one stream; the decode plan is what the runtime captures
    as a graph.

    ```mlir
    gk.plan @decode {
      gk.launch @embed(@tokens, @token_embd, @hidden) grid = affine_map<(s) -> (s)>
      gk.audit_launch final_rmsnorm @audit_stats(@normed, @audit_final)
          grid = affine_map<(s) -> (1)>
    }
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = "$sym_name attr-dict-with-keyword $body";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The phase the plan's name spells (verified to be one).
    ::mlir::greta::Phase getPhase();
  }];
}

def GK_LaunchOp : GK_SymbolUserOp<"launch", [HasParent<"PlanOp">]> {
  let summary = "launches a kernel on buffers";
  let description = [{
    Binds the buffers, in order, to the kernel's declared buffer kinds. `grid` maps the
    sequence length `s` to 1 to 3 grid dimensions, each of the form `(mul * s + add) ceildiv
    div` (or without the division) with non-negative constants, as the bundle records them.

    ```mlir
    gk.launch @decode_attn_q(@normed, @w_blk0_attn_q, @q) grid = affine_map<(s) -> (1024, s)>
    ```

    Verified: the kernel and buffers exist, the buffer count and kinds match the kernel's, KV
    caches hold the type the kernel reads them as (f16 where its `params.kv_dtype` is "f16",
    else f32), and the grid has that form.
  }];
  let arguments = (ins FlatSymbolRefAttr:$kernel,
                       FlatSymbolRefArrayAttr:$buffers,
                       AffineMapAttr:$grid);
  let assemblyFormat = [{
    custom<KernelCall>($kernel, $buffers) `grid` `=` $grid attr-dict
  }];
  let hasVerifier = 1;
}

def GK_AuditLaunchOp : GK_SymbolUserOp<"audit_launch", [HasParent<"PlanOp">]> {
  let summary = "launches an audit_stats kernel for one audit point";
  let description = [{
    As `gk.launch`, for a kernel of family `audit_stats`; `point` (and `layer` for
    `layer_output`) tell the runtime's audit recorder what the record describes.

    ```mlir
    gk.audit_launch lm_head @audit_logits(@logits, @audit_lm_head)
        grid = affine_map<(s) -> (1)>
    ```
  }];
  let arguments = (ins Greta_AuditPointAttr:$point,
                       FlatSymbolRefAttr:$kernel,
                       FlatSymbolRefArrayAttr:$buffers,
                       OptionalAttr<I64Attr>:$layer,
                       AffineMapAttr:$grid);
  let assemblyFormat = [{
    `` $point custom<KernelCall>($kernel, $buffers) (`layer` $layer^)?
    `grid` `=` $grid attr-dict
  }];
  let hasVerifier = 1;
}

#endif // GRETA_KERNEL_IR_GKOPS_TD
