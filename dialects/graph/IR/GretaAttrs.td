//===- GretaAttrs.td - greta attributes --------------------*- tablegen -*-===//
//
// `#greta.model`: the model's hyper-parameters, attached to the module as `greta.model`.
//
//===----------------------------------------------------------------------===//

#ifndef GRETA_GRAPH_IR_GRETAATTRS_TD
#define GRETA_GRAPH_IR_GRETAATTRS_TD

include "dialects/graph/IR/GretaEnums.td"
include "mlir/IR/AttrTypeBase.td"

class Greta_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<Greta_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

def Greta_ModelAttr : Greta_Attr<"Model", "model"> {
  let summary = "Llama hyper-parameters";
  let description = [{
    The hyper-parameters the importer read from GGUF metadata, as `key = value` pairs in any
    order. `head_dim` may be left out when it is `dim / heads` (and is then printed only when it
    differs); everything else is required. `tied = true` means the LM head reuses the token
    embedding (the GGUF has no `output.weight`).

    ```mlir
    #greta.model<layers = 32, dim = 4096, heads = 32, kv_heads = 8, ffn = 14336,
                 vocab = 128256, context = 8192, rope_theta = 5.000000e+05,
                 eps = 1.000000e-05, tied = false>
    ```

    Verified: every count is positive, `heads` is a multiple of `kv_heads` (grouped-query
    attention), `head_dim` is even (RoPE rotates pairs), `rope_theta` and `eps` are positive.
  }];
  let parameters = (ins
    "int64_t":$layers,
    "int64_t":$dim,
    "int64_t":$heads,
    "int64_t":$kvHeads,
    "int64_t":$headDim,
    "int64_t":$ffn,
    "int64_t":$vocab,
    "int64_t":$contextLength,
    APFloatParameter<"RoPE base frequency">:$ropeTheta,
    APFloatParameter<"RMSNorm epsilon">:$eps,
    "bool":$tied
  );
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
}

#endif // GRETA_GRAPH_IR_GRETAATTRS_TD
