//===- GKAttrs.td - gk attributes --------------------------*- tablegen -*-===//
//
// `#gk.tiles`: the tile sizes of a kernel.
//
//===----------------------------------------------------------------------===//

#ifndef GRETA_KERNEL_IR_GKATTRS_TD
#define GRETA_KERNEL_IR_GKATTRS_TD

include "dialects/kernel/IR/GKEnums.td"
include "mlir/IR/AttrTypeBase.td"

def GK_TilesAttr : AttrDef<GK_Dialect, "Tiles"> {
  let mnemonic = "tiles";
  let summary = "tile sizes of a kernel";
  let description = [{
    `tile_m` rows (tokens), `tile_n` output columns and `tile_k` reduction elements per block,
    and `split_k`: how many blocks share one reduction (GEMV) or one KV range (split-KV
    attention) before a final combine. Each defaults to 1 and is printed only when it differs.

    ```mlir
    #gk.tiles<tile_m = 64, tile_n = 64, tile_k = 32>
    #gk.tiles<tile_n = 4, tile_k = 256, split_k = 4>
    ```
  }];
  let parameters = (ins DefaultValuedParameter<"int64_t", "1">:$tile_m,
                        DefaultValuedParameter<"int64_t", "1">:$tile_n,
                        DefaultValuedParameter<"int64_t", "1">:$tile_k,
                        DefaultValuedParameter<"int64_t", "1">:$split_k);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

#endif // GRETA_KERNEL_IR_GKATTRS_TD
