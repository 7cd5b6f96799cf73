//===- GretaDialect.td - the greta graph dialect -----------*- tablegen -*-===//
//
// The `greta` dialect: tensor-level Llama operations over f32 activations, with weights and KV
// caches as module-level symbols.
//
//===----------------------------------------------------------------------===//

#ifndef GRETA_GRAPH_IR_GRETADIALECT_TD
#define GRETA_GRAPH_IR_GRETADIALECT_TD

include "mlir/IR/OpBase.td"

def Greta_Dialect : Dialect {
  let name = "greta";
  let cppNamespace = "::mlir::greta";
  let summary = "Graph-level Llama operations with quantized weight symbols";
  let description = [{
    The `greta` dialect describes one Llama forward pass over builtin tensors. Activations are
    `tensor<SEQxROWxf32>` with a dynamic sequence length (`?`) before phase specialisation and a
    static one afterwards (decode: `1`). Token ids and positions are `tensor<SEQxi32>`.

    Weights never appear as dense attributes: each is a `greta.weight` symbol whose type
    `!greta.weight<KxN, quant>` records its GGUF shape and storage type, and ops refer to it by
    name (`@blk0_attn_q`). KV caches are `greta.kv_cache` symbols in the same way.

    Two discardable attributes carry program-wide facts:

    * `greta.model = #greta.model<...>` on the module: the hyper-parameters;
    * `greta.phase = #greta<phase prefill>` (or `decode`) on a `func.func`: the phase a
      function was specialised for. Before `greta-specialize-phases` a function has none.

    ```mlir
    module attributes {greta.model = #greta.model<layers = 1, dim = 64, heads = 4, kv_heads = 2,
        ffn = 128, vocab = 256, context = 128, rope_theta = 1.000000e+04, eps = 9.99999974E-6,
        tied = true>} {
      greta.weight @token_embd : !greta.weight<64x256, q8_0> {gguf_name = "token_embd.weight"}
      func.func @decode(%tokens: tensor<1xi32>) -> tensor<1x64xf32>
          attributes {greta.phase = #greta<phase decode>} {
        %x = greta.embedding %tokens, @token_embd : tensor<1xi32> -> tensor<1x64xf32>
        return %x : tensor<1x64xf32>
      }
    }
    ```
  }];
  let useDefaultAttributePrinterParser = 1;
  let useDefaultTypePrinterParser = 1;
  let hasOperationAttrVerify = 1;
  let extraClassDeclaration = [{
    /// Discardable attribute on `func.func`: the phase the function was specialised for.
    static constexpr ::llvm::StringLiteral kPhaseAttrName = "greta.phase";
    /// Discardable attribute on the module: the model's hyper-parameters (`#greta.model`).
    static constexpr ::llvm::StringLiteral kModelAttrName = "greta.model";

  private:
    // Each in the file that defines the storage classes (GretaAttrs.cpp, GretaTypes.cpp).
    void registerAttributes();
    void registerTypes();

  public:
  }];
}

/// Base class of every `greta` operation.
class Greta_Op<string mnemonic, list<Trait> traits = []>
    : Op<Greta_Dialect, mnemonic, traits>;

#endif // GRETA_GRAPH_IR_GRETADIALECT_TD
