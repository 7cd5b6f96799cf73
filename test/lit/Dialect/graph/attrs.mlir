// RUN: greta-opt %s --split-input-file | greta-opt --split-input-file | FileCheck %s

// Tests that the hyper-parameters of Llama-3-8B round-trip in any key order, with head_dim left
// out because it is dim / heads.
// CHECK: module attributes {greta.model = #greta.model<layers = 32, dim = 4096, heads = 32, kv_heads = 8, ffn = 14336, vocab = 128256, context = 8192, rope_theta = 5.000000e+05, eps = 1.000000e-05, tied = false>}
module attributes {greta.model = #greta.model<tied = false, layers = 32, dim = 4096, heads = 32,
    kv_heads = 8, ffn = 14336, vocab = 128256, rope_theta = 5.0e5, eps = 1.0e-5,
    context = 8192>} {
}

// -----

// Tests that a head_dim equal to dim / heads is dropped from the printed form, and that a tied
// model keeps tied = true.
// CHECK: #greta.model<layers = 2, dim = 64, heads = 4, kv_heads = 2, ffn = 128, vocab = 256, context = 128, rope_theta = 1.000000e+04, eps = 9.9999999999999995E-7, tied = true>
module attributes {greta.model = #greta.model<layers = 2, dim = 64, heads = 4, kv_heads = 2,
    head_dim = 16, ffn = 128, vocab = 256, context = 128, rope_theta = 1.0e4, eps = 1.0e-6,
    tied = true>} {
}

// -----

// Tests that an explicit head_dim that is not dim / heads is kept.
// CHECK: #greta.model<layers = 1, dim = 96, heads = 4, kv_heads = 4, head_dim = 32, ffn = 256
module attributes {greta.model = #greta.model<layers = 1, dim = 96, heads = 4, kv_heads = 4,
    head_dim = 32, ffn = 256, vocab = 512, context = 64, rope_theta = 1.0e4, eps = 1.0e-5,
    tied = false>} {
}

// -----

// Tests that every quant type parses and prints, and that a row length that is a multiple of
// the block (32 for q8_0/q4_0, 256 for the K-quants) is accepted.
// CHECK: greta.weight @f32 : !greta.weight<7, f32>
// CHECK: greta.weight @f16 : !greta.weight<7x3, f16>
// CHECK: greta.weight @bf16 : !greta.weight<7x3, bf16>
// CHECK: greta.weight @q8_0 : !greta.weight<64x3, q8_0>
// CHECK: greta.weight @q4_0 : !greta.weight<32x3, q4_0>
// CHECK: greta.weight @q4_k : !greta.weight<4096x14336, q4_k>
// CHECK: greta.weight @q5_k : !greta.weight<512x3, q5_k>
// CHECK: greta.weight @q6_k : !greta.weight<14336x4096, q6_k>
greta.weight @f32 : !greta.weight<7, f32> {gguf_name = "a"}
greta.weight @f16 : !greta.weight<7x3, f16> {gguf_name = "b"}
greta.weight @bf16 : !greta.weight<7x3, bf16> {gguf_name = "c"}
greta.weight @q8_0 : !greta.weight<64x3, q8_0> {gguf_name = "d"}
greta.weight @q4_0 : !greta.weight<32x3, q4_0> {gguf_name = "e"}
greta.weight @q4_k : !greta.weight<4096x14336, q4_k> {gguf_name = "f"}
greta.weight @q5_k : !greta.weight<512x3, q5_k> {gguf_name = "g"}
greta.weight @q6_k : !greta.weight<14336x4096, q6_k> {gguf_name = "h"}

// -----

// Tests that KV-cache types round-trip for each storage type.
// CHECK: greta.kv_cache @kv_f16 : !greta.kv<ctx = 8192, kv_heads = 8, head_dim = 128, dtype = f16>
// CHECK: greta.kv_cache @kv_f32 : !greta.kv<ctx = 16, kv_heads = 1, head_dim = 2, dtype = f32>
// CHECK: greta.kv_cache @kv_bf16 : !greta.kv<ctx = 4096, kv_heads = 32, head_dim = 64, dtype = bf16>
greta.kv_cache @kv_f16 : !greta.kv<ctx = 8192, kv_heads = 8, head_dim = 128, dtype = f16>
greta.kv_cache @kv_f32 : !greta.kv<ctx=16, kv_heads=1, head_dim=2, dtype=f32>
greta.kv_cache @kv_bf16 : !greta.kv<ctx = 4096, kv_heads = 32, head_dim = 64, dtype = bf16>

// -----

// Tests that every enum attribute round-trips in an attribute dictionary.
// CHECK: module attributes {
// CHECK-SAME: a.audit = #greta<audit_point layer_output>
// CHECK-SAME: a.phase = #greta<phase decode>
// CHECK-SAME: a.policy = #greta<policy keep>
// CHECK-SAME: a.quant = #greta<quant q5_k>
// CHECK-SAME: a.route = #greta<route gemm>
module attributes {a.audit = #greta<audit_point layer_output>, a.phase = #greta<phase decode>,
                   a.policy = #greta<policy keep>, a.quant = #greta<quant q5_k>,
                   a.route = #greta<route gemm>} {
}

// -----

// Tests that greta.phase is accepted on a function in both phases.
// CHECK-LABEL: func.func @prefill
// CHECK-SAME: attributes {greta.phase = #greta<phase prefill>}
// CHECK-LABEL: func.func @decode
// CHECK-SAME: attributes {greta.phase = #greta<phase decode>}
func.func @prefill() attributes {greta.phase = #greta<phase prefill>} {
  return
}
func.func @decode() attributes {greta.phase = #greta<phase decode>} {
  return
}
