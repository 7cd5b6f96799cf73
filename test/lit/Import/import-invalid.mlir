// RUN: greta-synth -o %t.gguf --preset tiny 2> /dev/null
// RUN: cp %t.gguf %t.arch.gguf
// RUN: %python %S/Inputs/gguf_patch.py %t.arch.gguf --set-string general.architecture qwen2
// RUN: not greta-compile %t.arch.gguf --stop-after-stage import 2>&1 | FileCheck %s --check-prefix=ARCH
// RUN: cp %t.gguf %t.layer.gguf
// RUN: %python %S/Inputs/gguf_patch.py %t.layer.gguf --rename blk.1.ffn_up.weight blk.1.ffn_up.wXight
// RUN: rm -rf %t.greta
// RUN: not greta-compile %t.layer.gguf -o %t.greta 2>&1 | FileCheck %s --check-prefix=LAYER
// RUN: test ! -e %t.greta
// RUN: cp %t.gguf %t.norm.gguf
// RUN: %python %S/Inputs/gguf_patch.py %t.norm.gguf --rename output_norm.weight output_norm.wXight
// RUN: not greta-compile %t.norm.gguf --stop-after-stage import 2>&1 | FileCheck %s --check-prefix=NORM
// RUN: cp %t.gguf %t.shape.gguf
// RUN: %python %S/Inputs/gguf_patch.py %t.shape.gguf --swap blk.0.attn_q.weight blk.0.attn_k.weight
// RUN: not greta-compile %t.shape.gguf --stop-after-stage import 2>&1 | FileCheck %s --check-prefix=SHAPE
// RUN: cp %t.gguf %t.key.gguf
// RUN: %python %S/Inputs/gguf_patch.py %t.key.gguf --rename llama.feed_forward_length llama.feed_forward_lengtX
// RUN: not greta-compile %t.key.gguf --stop-after-stage import 2>&1 | FileCheck %s --check-prefix=KEY
// RUN: cp %t.gguf %t.kv.gguf
// RUN: %python %S/Inputs/gguf_patch.py %t.kv.gguf --set-u32 llama.attention.head_count_kv 3
// RUN: not greta-compile %t.kv.gguf --stop-after-stage import 2>&1 | FileCheck %s --check-prefix=KVHEADS
// RUN: cp %t.gguf %t.type.gguf
// RUN: %python %S/Inputs/gguf_patch.py %t.type.gguf --set-type blk.0.attn_norm.weight 26
// RUN: not greta-compile %t.type.gguf --stop-after-stage import 2>&1 | FileCheck %s --check-prefix=TYPE
// RUN: not greta-compile %t.missing.gguf --stop-after-stage import 2>&1 | FileCheck %s --check-prefix=NOFILE
// RUN: not greta-compile %s --stop-after-stage import 2>&1 | FileCheck %s --check-prefix=NOTGGUF

// Tests that an architecture other than llama is refused, naming the file and the value.
// ARCH: greta-compile: error: {{.*}}.arch.gguf: general.architecture is 'qwen2'; only 'llama' models are supported

// Tests that a missing layer tensor is reported by name (and no bundle is started).
// LAYER: greta-compile: error: {{.*}}.layer.gguf: missing tensor 'blk.1.ffn_up.weight' (a llama model with 2 layers needs it)

// Tests that a missing model-level tensor is reported by name.
// NORM: greta-compile: error: {{.*}}.norm.gguf: missing tensor 'output_norm.weight'

// Tests that a tensor whose shape disagrees with the hyper-parameters is reported with both
// shapes.
// SHAPE: greta-compile: error: {{.*}}.shape.gguf: tensor 'blk.0.attn_q.weight' has dims [256, 128]; the hyper-parameters need [256, 256]

// Tests that a missing hyper-parameter key is reported by name.
// KEY: greta-compile: error: {{.*}}.key.gguf: {{.*}}'llama.feed_forward_length'{{.*}}missing

// Tests that query heads that do not divide into KV-head groups are refused.
// KVHEADS: greta-compile: error: {{.*}}.kv.gguf: llama.attention.head_count (4) is not a multiple of llama.attention.head_count_kv (3)

// Tests that a tensor type GRETA cannot compute with (here I32, ggml type 26) is refused,
// naming the tensor, its type and the supported ones.
// TYPE: greta-compile: error: {{.*}}.type.gguf: tensor 'blk.0.attn_norm.weight' has type I32; GRETA computes with F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K and Q6_K

// Tests that an unreadable or non-GGUF file is one clear error.
// NOFILE: greta-compile: error: {{.*}}.missing.gguf: cannot open
// NOTGGUF: greta-compile: error: {{.*}}import-invalid.mlir:
