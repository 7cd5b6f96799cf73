//===- GretaOps.td - greta operations ----------------------*- tablegen -*-===//
//
// Symbols (weights, KV caches), the Llama layer operations, the fused forms the `greta-fuse`
// pass produces, and the audit pass-through.
//
//===----------------------------------------------------------------------===//

#ifndef GRETA_GRAPH_IR_GRETAOPS_TD
#define GRETA_GRAPH_IR_GRETAOPS_TD

include "dialects/graph/IR/GretaTypes.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

//===----------------------------------------------------------------------===//
// Constraints and resources
//===----------------------------------------------------------------------===//

def Greta_Activation : 2DTensorOf<[F32]>;
def Greta_IndexVector : 1DTensorOf<[I32]>;

// Effects on these keep KV-cache writes ordered before the reads, and audits alive.
def Greta_KVCacheResource : Resource<"::mlir::greta::KVCacheResource">;
def Greta_AuditResource : Resource<"::mlir::greta::AuditResource">;

class Greta_SymbolUserOp<string mnemonic, list<Trait> traits = []>
    : Greta_Op<mnemonic, !listconcat(traits,
                                     [DeclareOpInterfaceMethods<SymbolUserOpInterface>])>;

//===----------------------------------------------------------------------===//
// Symbols
//===----------------------------------------------------------------------===//

def Greta_WeightOp : Greta_Op<"weight", [Symbol, HasParent<"::mlir::ModuleOp">]> {
  let summary = "a model weight, stored outside the IR";
  let description = [{
    Declares a weight by name. Its data stays in the GGUF (or the bundle's `weights.bin`);
    `gguf_name` is the tensor's name there. `policy = #greta<policy fp16>` asks for the weight
    to be dequantized to fp16 for the device (the default, `keep`, keeps the GGUF type).

    ```mlir
    greta.weight @blk0_ffn_gate : !greta.weight<4096x14336, q4_k>
        {gguf_name = "blk.0.ffn_gate.weight"}
    greta.weight @output : !greta.weight<4096x128256, q6_k>
        {gguf_name = "output.weight", policy = #greta<policy fp16>}
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name,
                       TypeAttrOf<Greta_WeightType>:$type,
                       StrAttr:$gguf_name,
                       OptionalAttr<Greta_WeightPolicyAttr>:$policy);
  let assemblyFormat = "$sym_name `:` $type attr-dict";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The device policy, `keep` when absent.
    WeightPolicy getEffectivePolicy() {
      return getPolicy().value_or(WeightPolicy::Keep);
    }
  }];
}

def Greta_KVCacheOp : Greta_Op<"kv_cache", [Symbol, HasParent<"::mlir::ModuleOp">]> {
  let summary = "one layer's key/value cache";
  let description = [{
    Declares the KV cache that `greta.kv_append` writes and `greta.attention` reads. One per
    layer; the runtime allocates it for `ctx` positions.

    ```mlir
    greta.kv_cache @kv0 : !greta.kv<ctx = 8192, kv_heads = 8, head_dim = 128, dtype = f16>
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name, TypeAttrOf<Greta_KVCacheType>:$type);
  let assemblyFormat = "$sym_name `:` $type attr-dict";
}

//===----------------------------------------------------------------------===//
// Layer operations
//===----------------------------------------------------------------------===//

def Greta_EmbeddingOp : Greta_SymbolUserOp<"embedding", [Pure]> {
  let summary = "token embedding lookup";
  let description = [{
    Gathers one row of the `!greta.weight<DxV, q>` table per token id (dequantized to f32).

    ```mlir
    %x = greta.embedding %tokens, @token_embd : tensor<?xi32> -> tensor<?x4096xf32>
    ```
  }];
  let arguments = (ins Greta_IndexVector:$tokens, FlatSymbolRefAttr:$weight);
  let results = (outs Greta_Activation:$result);
  let assemblyFormat = [{
    $tokens `,` $weight attr-dict `:` type($tokens) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Greta_RmsNormOp : Greta_SymbolUserOp<"rms_norm", [Pure,
    AllTypesMatch<["input", "result"]>]> {
  let summary = "RMSNorm of every row, scaled by a weight vector";
  let description = [{
    `result[i, j] = input[i, j] / sqrt(mean_j(input[i, :]^2) + eps) * weight[j]`.

    ```mlir
    %n = greta.rms_norm %x, @blk0_attn_norm eps = 1.000000e-05 : tensor<?x4096xf32>
    ```

    Verified: `eps > 0`; the weight is a vector as long as a row.
  }];
  let arguments = (ins Greta_Activation:$input, FlatSymbolRefAttr:$weight, F32Attr:$eps);
  let results = (outs Greta_Activation:$result);
  let assemblyFormat = "$input `,` $weight `eps` `=` $eps attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def Greta_MatmulOp : Greta_SymbolUserOp<"matmul", [Pure]> {
  let summary = "activation times weight, with optional fused prologue and epilogue";
  let description = [{
    `result = input · W` for `W : !greta.weight<KxN, q>`: `tensor<SxKxf32>` to
    `tensor<SxNxf32>`. After `greta-fuse` it may carry

    * a prologue, `rms_norm(@w, eps = e)`: the input rows are RMS-normalised (and scaled by the
      vector `@w` of length K) on the way in, so the normalised activation is never stored;
    * one epilogue, applied to each output element:
      * `residual_add(%r : T)`: `result = input · W + r`;
      * `silu_mul(@w_up)`: `result = silu(input · W) * (input · W_up)` (gate and up
        projections in one pass over the input; `@w_up` has the same type as `W`).

    `route` records how the product runs (`greta-select-routes`): `gemv` on vector ALUs (decode)
    or `gemm` on matrix units (prefill).

    ```mlir
    %q = greta.matmul %n, @blk0_attn_q route gemv : tensor<1x4096xf32> -> tensor<1x4096xf32>
    %g = greta.matmul %h, @blk0_ffn_gate rms_norm(@blk0_ffn_norm, eps = 1.000000e-05)
           silu_mul(@blk0_ffn_up) route gemm : tensor<?x4096xf32> -> tensor<?x14336xf32>
    %o = greta.matmul %a, @blk0_attn_output residual_add(%x : tensor<?x4096xf32>)
           : tensor<?x4096xf32> -> tensor<?x4096xf32>
    ```

    Verified: K and N against the weight, the prologue's vector against K, the residual's type
    against the result, one epilogue at most.
  }];
  let arguments = (ins Greta_Activation:$input,
                       FlatSymbolRefAttr:$weight,
                       OptionalAttr<FlatSymbolRefAttr>:$norm_weight,
                       OptionalAttr<F32Attr>:$norm_eps,
                       Optional<Greta_Activation>:$residual,
                       OptionalAttr<FlatSymbolRefAttr>:$up_weight,
                       OptionalAttr<Greta_RouteAttr>:$route);
  let results = (outs Greta_Activation:$result);
  let assemblyFormat = [{
    $input `,` $weight
    (`rms_norm` `(` $norm_weight^ `,` `eps` `=` $norm_eps `)`)?
    (`residual_add` `(` $residual^ `:` type($residual) `)`)?
    (`silu_mul` `(` $up_weight^ `)`)?
    (`route` `` $route^)?
    attr-dict `:` type($input) `->` type($result)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// Which epilogue the op carries (derived from `residual` and `up_weight`).
    MatmulEpilogue getEpilogue() {
      if (getResidual())
        return MatmulEpilogue::ResidualAdd;
      return getUpWeight() ? MatmulEpilogue::SiluMul : MatmulEpilogue::None;
    }
    /// True when the input is RMS-normalised on the way in.
    bool hasNormPrologue() { return getNormWeight().has_value(); }
  }];
}

def Greta_RopeOp : Greta_SymbolUserOp<"rope", [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "rotary position embedding";
  let description = [{
    Rotates each of the `heads` heads (of `head_dim` elements) of every row by its position,
    pairing adjacent elements as GGUF's permuted Q/K weights expect, with base frequency
    `theta`. `freqs = @rope_freqs` names the Llama-3.1 frequency-scaling vector
    (`!greta.weight<HALFxf32>`, `HALF = head_dim / 2`).

    ```mlir
    %r = greta.rope %q, %pos heads = 32 head_dim = 128 theta = 5.000000e+05
           freqs = @rope_freqs : tensor<?x4096xf32>, tensor<?xi32>
    ```

    Verified: the row is `heads * head_dim` elements, `head_dim` is even, `theta > 0`, and there
    is one position per row.
  }];
  let arguments = (ins Greta_Activation:$input,
                       Greta_IndexVector:$positions,
                       I64Attr:$heads,
                       I64Attr:$head_dim,
                       F32Attr:$theta,
                       OptionalAttr<FlatSymbolRefAttr>:$freqs);
  let results = (outs Greta_Activation:$result);
  let assemblyFormat = [{
    $input `,` $positions `heads` `=` $heads `head_dim` `=` $head_dim `theta` `=` $theta
    (`freqs` `=` $freqs^)? attr-dict `:` type($input) `,` type($positions)
  }];
  let hasVerifier = 1;
}

def Greta_KVAppendOp : Greta_SymbolUserOp<"kv_append", [
    AllTypesMatch<["key", "value"]>,
    MemoryEffects<[MemWrite<Greta_KVCacheResource>]>]> {
  let summary = "stores keys and values at their positions in a KV cache";
  let description = [{
    Writes row `i` of `key` and `value` at position `positions[i]` of the cache.

    ```mlir
    greta.kv_append %k, %v, %pos into @kv0 : tensor<?x1024xf32>, tensor<?xi32>
    ```

    Verified: rows are `kv_heads * head_dim` of the cache, one position per row.
  }];
  let arguments = (ins Greta_Activation:$key,
                       Greta_Activation:$value,
                       Greta_IndexVector:$positions,
                       FlatSymbolRefAttr:$cache);
  let assemblyFormat = [{
    $key `,` $value `,` $positions `into` $cache attr-dict `:` type($key) `,` type($positions)
  }];
  let hasVerifier = 1;
}

def Greta_AttentionOp : Greta_SymbolUserOp<"attention", [
    AllTypesMatch<["query", "result"]>,
    MemoryEffects<[MemRead<Greta_KVCacheResource>]>]> {
  let summary = "multi-head attention over a KV cache (grouped-query)";
  let description = [{
    For each row (the query of position `positions[i]`) and each of `heads` query heads,
    attends over the cache's keys and values of head `h / (heads / kv_heads)`. With `causal`,
    positions after `positions[i]` are masked. `scale` defaults to `1 / sqrt(head_dim)`.

    ```mlir
    %o = greta.attention %q, %pos from @kv0 heads = 32 kv_heads = 8 causal
           : tensor<?x4096xf32>, tensor<?xi32>
    ```

    Verified: `heads` is a multiple of `kv_heads`, the row divides into `heads` heads of the
    cache's `head_dim`, and `kv_heads` is the cache's.
  }];
  let arguments = (ins Greta_Activation:$query,
                       Greta_IndexVector:$positions,
                       FlatSymbolRefAttr:$cache,
                       I64Attr:$heads,
                       I64Attr:$kv_heads,
                       UnitAttr:$causal,
                       OptionalAttr<F32Attr>:$scale);
  let results = (outs Greta_Activation:$result);
  let assemblyFormat = [{
    $query `,` $positions `from` $cache `heads` `=` $heads `kv_heads` `=` $kv_heads
    (`causal` $causal^)? (`scale` `=` $scale^)? attr-dict `:` type($query) `,` type($positions)
  }];
  let hasVerifier = 1;
}

def Greta_SiluMulOp : Greta_Op<"silu_mul", [Pure, SameOperandsAndResultType]> {
  let summary = "SwiGLU gate: silu(gate) * up";
  let description = [{
    `result = gate / (1 + exp(-gate)) * up`, element-wise.

    ```mlir
    %h = greta.silu_mul %gate, %up : tensor<?x14336xf32>
    ```
  }];
  let arguments = (ins Greta_Activation:$gate, Greta_Activation:$up);
  let results = (outs Greta_Activation:$result);
  let assemblyFormat = "$gate `,` $up attr-dict `:` type($result)";
}

def Greta_AddOp : Greta_Op<"add", [Pure, Commutative, SameOperandsAndResultType]> {
  let summary = "element-wise sum (residual connection)";
  let description = [{
    ```mlir
    %s = greta.add %x, %attn : tensor<?x4096xf32>
    ```
  }];
  let arguments = (ins Greta_Activation:$lhs, Greta_Activation:$rhs);
  let results = (outs Greta_Activation:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($result)";
}

def Greta_LmHeadOp : Greta_SymbolUserOp<"lm_head", [Pure]> {
  let summary = "output projection to vocabulary logits";
  let description = [{
    `logits = input · W` for `W : !greta.weight<DxV, q>` (the token embedding when the model's
    embeddings are tied). `last_only` (prefill) projects only the last row, so the result has
    one row. `route` is as for `greta.matmul`.

    ```mlir
    %l = greta.lm_head %n, @output last_only route gemm
           : tensor<?x4096xf32> -> tensor<1x128256xf32>
    ```
  }];
  let arguments = (ins Greta_Activation:$input,
                       FlatSymbolRefAttr:$weight,
                       UnitAttr:$last_only,
                       OptionalAttr<Greta_RouteAttr>:$route);
  let results = (outs Greta_Activation:$logits);
  let assemblyFormat = [{
    $input `,` $weight (`last_only` $last_only^)? (`route` `` $route^)?
    attr-dict `:` type($input) `->` type($logits)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Fused forms (produced by greta-fuse)
//===----------------------------------------------------------------------===//

def Greta_AddRmsNormOp : Greta_SymbolUserOp<"add_rms_norm", [Pure,
    AllTypesMatch<["lhs", "rhs", "sum", "normed"]>]> {
  let summary = "residual add followed by RMSNorm, returning both";
  let description = [{
    `sum = lhs + rhs`, `normed = rms_norm(sum, weight, eps)`: the residual stream and the next
    block's normalised input from one pass over the row.

    ```mlir
    %s, %n = greta.add_rms_norm %x, %attn, @blk0_ffn_norm eps = 1.000000e-05
               : tensor<?x4096xf32>
    ```
  }];
  let arguments = (ins Greta_Activation:$lhs,
                       Greta_Activation:$rhs,
                       FlatSymbolRefAttr:$weight,
                       F32Attr:$eps);
  let results = (outs Greta_Activation:$sum, Greta_Activation:$normed);
  let assemblyFormat = "$lhs `,` $rhs `,` $weight `eps` `=` $eps attr-dict `:` type($lhs)";
  let hasVerifier = 1;
}

def Greta_RopeKVAppendOp : Greta_SymbolUserOp<"rope_kv_append", [
    AllTypesMatch<["query", "rotated_query"]>,
    AllTypesMatch<["key", "value"]>,
    MemoryEffects<[MemWrite<Greta_KVCacheResource>]>]> {
  let summary = "RoPE of queries and keys, and the KV-cache append, in one pass";
  let description = [{
    `greta.rope` of `query` (returned) and of `key`, then `greta.kv_append` of the rotated keys
    and `value`. `head_dim` and `kv_heads` are the cache's.

    ```mlir
    %qr = greta.rope_kv_append %q, %k, %v, %pos into @kv0 heads = 32 theta = 5.000000e+05
            : tensor<?x4096xf32>, tensor<?x1024xf32>, tensor<?xi32>
    ```
  }];
  let arguments = (ins Greta_Activation:$query,
                       Greta_Activation:$key,
                       Greta_Activation:$value,
                       Greta_IndexVector:$positions,
                       FlatSymbolRefAttr:$cache,
                       I64Attr:$heads,
                       F32Attr:$theta,
                       OptionalAttr<FlatSymbolRefAttr>:$freqs);
  let results = (outs Greta_Activation:$rotated_query);
  let assemblyFormat = [{
    $query `,` $key `,` $value `,` $positions `into` $cache `heads` `=` $heads
    `theta` `=` $theta (`freqs` `=` $freqs^)? attr-dict
    `:` type($query) `,` type($key) `,` type($positions)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Audit
//===----------------------------------------------------------------------===//

def Greta_AuditOp : Greta_Op<"audit", [
    AllTypesMatch<["input", "result"]>,
    MemoryEffects<[MemWrite<Greta_AuditResource>]>]> {
  let summary = "records statistics of a value at an audit point, and passes it through";
  let description = [{
    The result is the input. The write effect on the audit record keeps the op (and so the
    recorded value) alive through canonicalisation, CSE and fusion. `layer_output` audits name
    their layer.

    ```mlir
    %n2 = greta.audit final_rmsnorm %n : tensor<1x4096xf32>
    %h2 = greta.audit layer_output %h layer 3 : tensor<?x4096xf32>
    ```
  }];
  let arguments = (ins Greta_Activation:$input,
                       Greta_AuditPointAttr:$point,
                       OptionalAttr<I64Attr>:$layer);
  let results = (outs Greta_Activation:$result);
  let assemblyFormat = "`` $point $input (`layer` $layer^)? attr-dict `:` type($input)";
  let hasVerifier = 1;
}

#endif // GRETA_GRAPH_IR_GRETAOPS_TD
