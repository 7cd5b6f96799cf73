// RUN: greta-synth -o %t.gguf --preset tiny 2> /dev/null
// RUN: not greta-compile %t.gguf 2>&1 | FileCheck %s --check-prefix=NO-OUTPUT
// RUN: not greta-compile %t.gguf -o %t.greta --target sm_91 2>&1 | FileCheck %s --check-prefix=TARGET
// RUN: not greta-compile %t.gguf --stop-after-stage frobnicate 2>&1 | FileCheck %s --check-prefix=STAGE
// RUN: not greta-compile %t.gguf --stop-after-stage select-routes --force-route lm_head=mfma 2>&1 | FileCheck %s --check-prefix=ROUTE
// RUN: not greta-compile %t.gguf --stop-after-stage select-routes --fp16-weights norms 2>&1 | FileCheck %s --check-prefix=CLASS
// RUN: not greta-compile %t.gguf -o %t.greta --audit most 2>&1 | FileCheck %s --check-prefix=AUDIT

// Tests that greta-compile without -o (and without --stop-after-stage) says what is missing.
// NO-OUTPUT: greta-compile: error: no output bundle: give -o MODEL.greta

// Tests that an unknown --target is refused before any work, listing the known ones.
// TARGET: greta-compile: error: --target: unknown target 'sm_91' (known: {{.*}}sm_90{{.*}})

// Tests that an unknown stage name lists the stages.
// STAGE: greta-compile: error: --stop-after-stage: no stage 'frobnicate' (stages: 00-import, 01-specialize-phases, 02-insert-audit, 03-fuse, 04-select-routes, 05-lower-to-kernels, 06-emit-hip)

// Tests that a bad --force-route entry is one clear message, followed by the failed stage.
// ROUTE: greta-compile: error: greta-select-routes: force-route entry 'lm_head=mfma' is not OP=ROUTE or OP.PHASE=ROUTE
// ROUTE-NEXT: greta-compile: error: stage 04-select-routes failed

// Tests that a bad --fp16-weights class is refused, naming the valid ones.
// CLASS: greta-compile: error: greta-select-routes: fp16-weights class 'norms' is not one of lm_head, embeddings, all

// Tests that an unknown --audit level is refused by the option parser.
// AUDIT: for the --audit option: Cannot find option named 'most'
