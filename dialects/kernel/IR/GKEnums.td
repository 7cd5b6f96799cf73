//===- GKEnums.td - gk enumerations ------------------------*- tablegen -*-===//
//
// Kernel families and routes (together they pick the HIP template), and buffer kinds.
//
//===----------------------------------------------------------------------===//

#ifndef GRETA_KERNEL_IR_GKENUMS_TD
#define GRETA_KERNEL_IR_GKENUMS_TD

include "dialects/kernel/IR/GKDialect.td"
include "mlir/IR/EnumAttr.td"

class GK_I32Enum<string name, string summary, list<I32EnumAttrCase> cases>
    : I32EnumAttr<name, summary, cases> {
  let cppNamespace = "::mlir::gk";
  let genSpecializedAttr = 0;
}

// The families of docs/bundle-format.md, with the same names and argument lists.
def GK_KernelFamily : GK_I32Enum<"KernelFamily", "kernel template family", [
  I32EnumAttrCase<"Embedding", 0, "embedding">,
  I32EnumAttrCase<"RmsNorm", 1, "rms_norm">,
  I32EnumAttrCase<"AddRmsNorm", 2, "add_rms_norm">,
  I32EnumAttrCase<"Matmul", 3, "matmul">,
  // silu(x · gate) * (x · up) in one pass over x.
  I32EnumAttrCase<"MatmulGateUp", 4, "matmul_gate_up">,
  I32EnumAttrCase<"Rope", 5, "rope">,
  I32EnumAttrCase<"KVAppend", 6, "kv_append">,
  I32EnumAttrCase<"RopeKVAppend", 7, "rope_kv_append">,
  I32EnumAttrCase<"Attention", 8, "attention">,
  I32EnumAttrCase<"SiluMul", 9, "silu_mul">,
  I32EnumAttrCase<"Add", 10, "add">,
  I32EnumAttrCase<"LmHead", 11, "lm_head">,
  // Reduces an audited tensor to a statistics record (hash, min, max, mean, top-2).
  I32EnumAttrCase<"AuditStats", 12, "audit_stats">,
  // Attention's q, k and v projections of one input in one pass over it (one launch, one
  // staging of the normalised input per block, rows of all three matrices in one grid), with
  // rope_kv_append fused into the stores: q and k rotated, k and v appended to the caches.
  I32EnumAttrCase<"MatmulQKV", 13, "matmul_qkv">,
  // A weight matrix dequantised to binary16 into a scratch buffer, which a following gemm
  // kernel reads (prefill on matrix units: each weight is decoded once per launch of the plan,
  // not once per tile of tokens).
  I32EnumAttrCase<"DequantF16", 14, "dequant_f16">,
  // An input row as the products on binary16 weights read it: the prologue applied (if any)
  // and rounded to binary16, once per row rather than once per tile of output columns.
  I32EnumAttrCase<"CastF16", 15, "cast_f16">
]>;
def GK_KernelFamilyAttr : EnumAttr<GK_Dialect, GK_KernelFamily, "family">;

def GK_KernelRoute : GK_I32Enum<"KernelRoute", "how a kernel runs", [
  // matmul, matmul_gate_up, matmul_qkv, lm_head: one row per step on vector ALUs, split-K
  // (decode).
  I32EnumAttrCase<"Gemv", 0, "gemv">,
  // matmul, matmul_gate_up, lm_head: matrix units, dequantisation fused, or the weights read as
  // binary16 from a scratch buffer that dequant_f16 launches wrote (prefill).
  I32EnumAttrCase<"Gemm", 1, "gemm">,
  // attention: one query row per position, the KV range split across blocks (decode).
  I32EnumAttrCase<"SplitKV", 2, "split_kv">,
  // attention: flash attention over query tiles (prefill).
  I32EnumAttrCase<"Flash", 3, "flash">
]>;
def GK_KernelRouteAttr : EnumAttr<GK_Dialect, GK_KernelRoute, "route">;

def GK_BufferKind : GK_I32Enum<"BufferKind", "what a buffer holds", [
  I32EnumAttrCase<"Activation", 0, "activation">,
  // Host-provided per step: token ids, positions.
  I32EnumAttrCase<"Input", 1, "input">,
  I32EnumAttrCase<"Weight", 2, "weight">,
  I32EnumAttrCase<"KV", 3, "kv">,
  I32EnumAttrCase<"Logits", 4, "logits">,
  I32EnumAttrCase<"Audit", 5, "audit">,
  // A fixed-size working buffer one launch writes and a later one of the same phase reads
  // (dequant_f16's binary16 weights), shared by every such pair of the plan.
  I32EnumAttrCase<"Scratch", 6, "scratch">
]>;
def GK_BufferKindAttr : EnumAttr<GK_Dialect, GK_BufferKind, "kind">;
def GK_BufferKindArrayAttr : TypedArrayAttrBase<GK_BufferKindAttr, "buffer kinds">;

#endif // GRETA_KERNEL_IR_GKENUMS_TD
