//===- GKEnums.td - gk enumerations ------------------------*- tablegen -*-===//
//
// Kernel families (the HIP templates) and buffer kinds.
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

def GK_KernelFamily : GK_I32Enum<"KernelFamily", "kernel template family", [
  I32EnumAttrCase<"Embedding", 0, "embedding">,
  I32EnumAttrCase<"RmsNorm", 1, "rms_norm">,
  I32EnumAttrCase<"AddRmsNorm", 2, "add_rms_norm">,
  // Matrix-vector product on vector ALUs, split-K (decode).
  I32EnumAttrCase<"Gemv", 3, "gemv">,
  // Matrix product on matrix units with fused dequantisation (prefill).
  I32EnumAttrCase<"Gemm", 4, "gemm">,
  I32EnumAttrCase<"Rope", 5, "rope">,
  I32EnumAttrCase<"KVAppend", 6, "kv_append">,
  I32EnumAttrCase<"RopeKVAppend", 7, "rope_kv_append">,
  // One query row per position; the KV range split across blocks (split-KV).
  I32EnumAttrCase<"AttentionDecode", 8, "attention_decode">,
  // Flash attention over query tiles (prefill).
  I32EnumAttrCase<"AttentionPrefill", 9, "attention_prefill">,
  I32EnumAttrCase<"SiluMul", 10, "silu_mul">,
  I32EnumAttrCase<"Add", 11, "add">,
  I32EnumAttrCase<"LmHeadGemv", 12, "lm_head_gemv">,
  I32EnumAttrCase<"LmHeadGemm", 13, "lm_head_gemm">,
  // Reduces an audited tensor to a statistics record (hash, min, max, mean, top-2).
  I32EnumAttrCase<"AuditStats", 14, "audit_stats">
]>;
def GK_KernelFamilyAttr : EnumAttr<GK_Dialect, GK_KernelFamily, "family">;

def GK_BufferKind : GK_I32Enum<"BufferKind", "what a buffer holds", [
  I32EnumAttrCase<"Activation", 0, "activation">,
  // Host-provided per step: token ids, positions.
  I32EnumAttrCase<"Input", 1, "input">,
  I32EnumAttrCase<"Weight", 2, "weight">,
  I32EnumAttrCase<"KV", 3, "kv">,
  I32EnumAttrCase<"Logits", 4, "logits">,
  I32EnumAttrCase<"Audit", 5, "audit">
]>;
def GK_BufferKindAttr : EnumAttr<GK_Dialect, GK_BufferKind, "kind">;
def GK_BufferKindArrayAttr : TypedArrayAttrBase<GK_BufferKindAttr, "buffer kinds">;

#endif // GRETA_KERNEL_IR_GKENUMS_TD
