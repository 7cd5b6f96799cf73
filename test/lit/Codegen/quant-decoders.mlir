// RUN: greta-opt %s --greta-emit-hip -o /dev/null | FileCheck %s

// Tests that every weight storage type gets the decoder of its ggml block layout (block size
// and bytes as in runtime/formats/quant_blocks.h) and the row stride of a 256-value row.

// CHECK-LABEL: // ===== gk.kernel @embed_f32 (embed_f32.hip) =====
// CHECK: // gk.kernel @embed_f32: family embedding, weights F32.
// CHECK: constexpr i64 kRowBytes = 1024;
// CHECK: constexpr int kQuantBlockElements = 1;
// CHECK-NEXT: constexpr int kQuantBlockBytes = 4;
// CHECK: out[i] = values[i];
gk.kernel @embed_f32 embedding(input, weight, activation) quant f32
    params {block = 256 : i64, dim = 256 : i64, vocab = 1000 : i64}

// CHECK-LABEL: // ===== gk.kernel @embed_f16 (embed_f16.hip) =====
// CHECK: // gk.kernel @embed_f16: family embedding, weights F16.
// CHECK: constexpr i64 kRowBytes = 512;
// CHECK: constexpr int kQuantBlockElements = 1;
// CHECK-NEXT: constexpr int kQuantBlockBytes = 2;
// CHECK: out[i] = half_bits_to_float(load_u16(values + 2 * i));
gk.kernel @embed_f16 embedding(input, weight, activation) quant f16
    params {block = 256 : i64, dim = 256 : i64, vocab = 1000 : i64}

// CHECK-LABEL: // ===== gk.kernel @embed_bf16 (embed_bf16.hip) =====
// CHECK: // gk.kernel @embed_bf16: family embedding, weights BF16.
// CHECK: constexpr i64 kRowBytes = 512;
// CHECK: constexpr int kQuantBlockElements = 1;
// CHECK-NEXT: constexpr int kQuantBlockBytes = 2;
// CHECK: out[i] = __uint_as_float(static_cast<u32>(load_u16(values + 2 * i)) << 16);
gk.kernel @embed_bf16 embedding(input, weight, activation) quant bf16
    params {block = 256 : i64, dim = 256 : i64, vocab = 1000 : i64}

// CHECK-LABEL: // ===== gk.kernel @embed_q8_0 (embed_q8_0.hip) =====
// CHECK: // gk.kernel @embed_q8_0: family embedding, weights Q8_0.
// CHECK: constexpr i64 kRowBytes = 272;
// CHECK: constexpr int kQuantBlockElements = 32;
// CHECK-NEXT: constexpr int kQuantBlockBytes = 34;
// CHECK: out[i] = d * static_cast<float>(qs[i]);
gk.kernel @embed_q8_0 embedding(input, weight, activation) quant q8_0
    params {block = 256 : i64, dim = 256 : i64, vocab = 1000 : i64}

// CHECK-LABEL: // ===== gk.kernel @embed_q4_0 (embed_q4_0.hip) =====
// CHECK: // gk.kernel @embed_q4_0: family embedding, weights Q4_0.
// CHECK: constexpr i64 kRowBytes = 144;
// CHECK: constexpr int kQuantBlockElements = 32;
// CHECK-NEXT: constexpr int kQuantBlockBytes = 18;
// CHECK: out[i] = d * static_cast<float>(((qs[i] >> shift) & 0x0f) - kQ4_0Zero);
gk.kernel @embed_q4_0 embedding(input, weight, activation) quant q4_0
    params {block = 256 : i64, dim = 256 : i64, vocab = 1000 : i64}

// CHECK-LABEL: // ===== gk.kernel @embed_q4_k (embed_q4_k.hip) =====
// CHECK: // gk.kernel @embed_q4_k: family embedding, weights Q4_K.
// CHECK: constexpr i64 kRowBytes = 144;
// CHECK: constexpr int kQuantBlockElements = 256;
// CHECK-NEXT: constexpr int kQuantBlockBytes = 144;
// CHECK: out[i] = factor * static_cast<float>((word >> (8 * (i % 4) + shift)) & 0x0f) - offset;
gk.kernel @embed_q4_k embedding(input, weight, activation) quant q4_k
    params {block = 256 : i64, dim = 256 : i64, vocab = 1000 : i64}

// CHECK-LABEL: // ===== gk.kernel @embed_q5_k (embed_q5_k.hip) =====
// CHECK: // gk.kernel @embed_q5_k: family embedding, weights Q5_K.
// CHECK: constexpr i64 kRowBytes = 176;
// CHECK: constexpr int kQuantBlockElements = 256;
// CHECK-NEXT: constexpr int kQuantBlockBytes = 176;
// CHECK: out[i] = factor * static_cast<float>(q) - offset;
gk.kernel @embed_q5_k embedding(input, weight, activation) quant q5_k
    params {block = 256 : i64, dim = 256 : i64, vocab = 1000 : i64}

// CHECK-LABEL: // ===== gk.kernel @embed_q6_k (embed_q6_k.hip) =====
// CHECK: // gk.kernel @embed_q6_k: family embedding, weights Q6_K.
// CHECK: constexpr i64 kRowBytes = 210;
// CHECK: constexpr int kQuantBlockElements = 256;
// CHECK-NEXT: constexpr int kQuantBlockBytes = 210;
// CHECK: out[i + j] = factor * static_cast<float>(q);
gk.kernel @embed_q6_k embedding(input, weight, activation) quant q6_k
    params {block = 256 : i64, dim = 256 : i64, vocab = 1000 : i64}
