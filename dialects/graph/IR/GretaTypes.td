//===- GretaTypes.td - greta types -------------------------*- tablegen -*-===//
//
// `!greta.weight` (a quantized weight's GGUF shape and storage type) and `!greta.kv` (a
// per-layer KV cache).
//
//===----------------------------------------------------------------------===//

#ifndef GRETA_GRAPH_IR_GRETATYPES_TD
#define GRETA_GRAPH_IR_GRETATYPES_TD

include "dialects/graph/IR/GretaAttrs.td"

class Greta_Type<string name, string typeMnemonic, list<Trait> traits = []>
    : TypeDef<Greta_Dialect, name, traits> {
  let mnemonic = typeMnemonic;
}

def Greta_WeightType : Greta_Type<"Weight", "weight"> {
  let summary = "a weight tensor in its GGUF storage type";
  let description = [{
    Dimensions are listed in GGUF order, innermost first: `!greta.weight<KxN, q4_k>` is `N` rows
    of `K` contiguous elements, so a `greta.matmul` maps `tensor<?xKxf32>` to `tensor<?xNxf32>`
    and `K` is the row length that the quant blocks tile. A vector (norm weights, `rope_freqs`)
    has one dimension.

    ```mlir
    !greta.weight<4096x14336, q4_k>   // ffn_gate of Llama-3-8B: 14336 rows of 4096
    !greta.weight<4096, f32>          // attn_norm
    ```

    Verified: rank 1 or 2, positive dimensions, and a row length that is a multiple of the
    quant block (32 elements for `q8_0`/`q4_0`, 256 for the K-quants). An unknown quant type is
    a parse error.
  }];
  let parameters = (ins ArrayRefParameter<"int64_t">:$shape, "QuantType":$quant);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Elements per row: the innermost (first) dimension.
    int64_t getRowLength() const { return getShape().front(); }
    /// Rows: the second dimension, or 1 for a vector.
    int64_t getNumRows() const { return getShape().size() > 1 ? getShape()[1] : 1; }
    int64_t getRank() const { return getShape().size(); }
  }];
}

def Greta_KVCacheType : Greta_Type<"KVCache", "kv"> {
  let summary = "one layer's key/value cache";
  let description = [{
    Room for `ctx` positions of `kv_heads` heads of `head_dim` elements, for keys and for
    values, stored as `dtype` (f32, f16 or bf16).

    ```mlir
    !greta.kv<ctx = 8192, kv_heads = 8, head_dim = 128, dtype = f16>
    ```
  }];
  let parameters = (ins "int64_t":$ctx, "int64_t":$kv_heads, "int64_t":$head_dim,
                        "::mlir::Type":$dtype);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Elements of one position's keys (or values): kv_heads * head_dim.
    int64_t getRowLength() const { return getKvHeads() * getHeadDim(); }
  }];
}

#endif // GRETA_GRAPH_IR_GRETATYPES_TD
