// RUN: greta-synth -o %t.gguf --preset tiny --quant q4_k_m 2> /dev/null
// RUN: rm -rf %t.greta %t.ir %t.ext.greta
// RUN: greta-compile %t.gguf -o %t.greta --dump-ir %t.ir
// RUN: ls %t.greta | FileCheck %s --check-prefix=BUNDLE
// RUN: ls %t.greta/ir | FileCheck %s --check-prefix=IR
// RUN: diff %t.ir/03-fuse.mlir %t.greta/ir/03-fuse.mlir
// RUN: FileCheck %s --check-prefix=FINAL < %t.greta/ir/final.mlir
// RUN: greta-compile %t.gguf -o %t.ext.greta --weights external --audit all-layers --no-fuse --force-route lm_head.prefill=gemv --fp16-weights lm_head --target cpu,sm_90 --kv-cache-dtype f32 --code-objects=false
// RUN: FileCheck %s --check-prefix=OPTIONS < %t.ext.greta/manifest.json
// RUN: ls %t.ext.greta | FileCheck %s --check-prefix=EXTERNAL

// Tests that greta-compile -o writes a bundle, and with --dump-ir also keeps every stage's IR
// in it (the same text as the dump directory's) beside the final IR.
// BUNDLE: ir
// BUNDLE-NEXT: kernels
// BUNDLE-NEXT: manifest.json
// BUNDLE-NEXT: tokenizer.gguf
// BUNDLE-NEXT: weights.bin
// IR: 00-import.mlir
// IR-NEXT: 01-specialize-phases.mlir
// IR-NEXT: 02-insert-audit.mlir
// IR-NEXT: 03-fuse.mlir
// IR-NEXT: 04-select-routes.mlir
// IR-NEXT: 05-lower-to-kernels.mlir
// IR-NEXT: final.mlir
// FINAL: gk.plan @prefill
// FINAL: gk.plan @decode

// Tests that the driver's flags reach the bundle: the options are recorded, the forced route
// and the fp16 policy show in the kernels and the weight table, and external weights leave no
// weights.bin.
// OPTIONS: "options": {
// OPTIONS-NEXT: "audit": "all-layers",
// OPTIONS-NEXT: "fuse": false,
// OPTIONS-NEXT: "forced_routes": {
// OPTIONS-NEXT: "lm_head.prefill": "gemv"
// OPTIONS: "fp16_weights": [
// OPTIONS-NEXT: "lm_head"
// OPTIONS: "targets": [
// OPTIONS-NEXT: "cpu",
// OPTIONS-NEXT: "sm_90"
// OPTIONS: "kv_cache_dtype": "f32"
// OPTIONS: "mode": "external",
// OPTIONS: "name": "output.weight",
// OPTIONS-NEXT: "type": "F16",
// OPTIONS: "layout": "f16_rows",
// OPTIONS: "name": "prefill_lm_head_{{.*}}",
// OPTIONS-NEXT: "family": "lm_head",
// OPTIONS-NEXT: "route": "gemv",
// OPTIONS: "name": "decode_lm_head_{{.*}}",
// OPTIONS-NEXT: "family": "lm_head",
// OPTIONS-NEXT: "route": "gemv",
// EXTERNAL-NOT: weights.bin
