//===- GretaEnums.td - greta enumerations ------------------*- tablegen -*-===//
//
// Quant types, phases, routes, audit points, weight policies and matmul epilogues. Each enum
// attribute prints as a bare keyword inside an op (`route gemv`) and as `#greta<route gemv>`
// in an attribute dictionary.
//
//===----------------------------------------------------------------------===//

#ifndef GRETA_GRAPH_IR_GRETAENUMS_TD
#define GRETA_GRAPH_IR_GRETAENUMS_TD

include "dialects/graph/IR/GretaDialect.td"
include "mlir/IR/EnumAttr.td"

class Greta_I32Enum<string name, string summary, list<I32EnumAttrCase> cases>
    : I32EnumAttr<name, summary, cases> {
  let cppNamespace = "::mlir::greta";
  let genSpecializedAttr = 0;
}

def Greta_QuantType : Greta_I32Enum<"QuantType", "weight storage type", [
  I32EnumAttrCase<"F32", 0, "f32">,
  I32EnumAttrCase<"F16", 1, "f16">,
  I32EnumAttrCase<"BF16", 2, "bf16">,
  I32EnumAttrCase<"Q8_0", 3, "q8_0">,
  I32EnumAttrCase<"Q4_0", 4, "q4_0">,
  I32EnumAttrCase<"Q4_K", 5, "q4_k">,
  I32EnumAttrCase<"Q5_K", 6, "q5_k">,
  I32EnumAttrCase<"Q6_K", 7, "q6_k">
]>;
def Greta_QuantTypeAttr : EnumAttr<Greta_Dialect, Greta_QuantType, "quant">;

def Greta_Phase : Greta_I32Enum<"Phase", "program phase", [
  I32EnumAttrCase<"Prefill", 0, "prefill">,
  I32EnumAttrCase<"Decode", 1, "decode">
]>;
def Greta_PhaseAttr : EnumAttr<Greta_Dialect, Greta_Phase, "phase">;

def Greta_Route : Greta_I32Enum<"Route", "matrix-product route", [
  // Decode: one token, bandwidth-bound; vector ALUs, split-K.
  I32EnumAttrCase<"Gemv", 0, "gemv">,
  // Prefill: many tokens; matrix units (MFMA, tensor cores) with fused dequantisation.
  I32EnumAttrCase<"Gemm", 1, "gemm">
]>;
def Greta_RouteAttr : EnumAttr<Greta_Dialect, Greta_Route, "route">;

def Greta_AuditPoint : Greta_I32Enum<"AuditPoint", "audited value", [
  I32EnumAttrCase<"FinalRmsNorm", 0, "final_rmsnorm">,
  I32EnumAttrCase<"LmHead", 1, "lm_head">,
  I32EnumAttrCase<"LayerOutput", 2, "layer_output">
]>;
def Greta_AuditPointAttr : EnumAttr<Greta_Dialect, Greta_AuditPoint, "audit_point">;

def Greta_WeightPolicy : Greta_I32Enum<"WeightPolicy", "device precision of a weight", [
  // The GGUF storage type is kept on the device.
  I32EnumAttrCase<"Keep", 0, "keep">,
  // Dequantized to fp16 when the bundle is written (or at load for external weights).
  I32EnumAttrCase<"Fp16", 1, "fp16">
]>;
def Greta_WeightPolicyAttr : EnumAttr<Greta_Dialect, Greta_WeightPolicy, "policy">;

// Not an attribute: derived from which operands a `greta.matmul` carries.
def Greta_MatmulEpilogue : Greta_I32Enum<"MatmulEpilogue", "fused matmul epilogue", [
  I32EnumAttrCase<"None", 0, "none">,
  I32EnumAttrCase<"ResidualAdd", 1, "residual_add">,
  I32EnumAttrCase<"SiluMul", 2, "silu_mul">
]>;

#endif // GRETA_GRAPH_IR_GRETAENUMS_TD
