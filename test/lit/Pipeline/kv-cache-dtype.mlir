// RUN: greta-synth -o %t.gguf --preset tiny --quant q8_0 2> /dev/null
// RUN: greta-compile %t.gguf --stop-after-stage select-routes | FileCheck %s --check-prefix=GPU
// RUN: greta-compile %t.gguf --target cpu --stop-after-stage select-routes | FileCheck %s --check-prefix=CPU
// RUN: greta-compile %t.gguf --target cpu,sm_90 --stop-after-stage select-routes | FileCheck %s --check-prefix=GPU
// RUN: greta-compile %t.gguf --kv-cache-dtype=f32 --stop-after-stage select-routes | FileCheck %s --check-prefix=CPU
// RUN: greta-compile %t.gguf --target cpu --kv-cache-dtype=f16 --stop-after-stage select-routes | FileCheck %s --check-prefix=GPU
// RUN: not greta-compile %t.gguf --kv-cache-dtype=q8_0 -o %t.greta 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: not ls %t.greta

// Tests that --kv-cache-dtype=auto (the default) stores keys and values as binary16 when the
// kernels are for a GPU (the default target, or a GPU listed with the CPU) and as f32 for a
// bundle for the CPU alone, that an explicit choice wins either way, and that an unknown
// choice is refused before anything is written.
// GPU: greta.kv_cache @kv0 : !greta.kv<{{.*}}dtype = f16>
// GPU-NOT: dtype = f32>
// CPU: greta.kv_cache @kv0 : !greta.kv<{{.*}}dtype = f32>
// CPU-NOT: dtype = f16>
// BAD: greta-compile: error: --kv-cache-dtype: 'q8_0' is not one of auto, f32, f16
