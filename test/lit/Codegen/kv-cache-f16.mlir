// RUN: greta-opt %S/llama3-8b-layer.mlir --greta-specialize-phases --greta-insert-audit --greta-fuse --greta-select-routes=kv-cache-dtype=f16 --greta-lower-to-kernels | FileCheck %s --check-prefix=LOWER
// RUN: greta-opt %S/llama3-8b-layer.mlir --greta-specialize-phases --greta-insert-audit --greta-fuse --greta-select-routes=kv-cache-dtype=f16 --greta-lower-to-kernels --greta-emit-hip -o /dev/null | FileCheck %s

// Tests that binary16 KV caches (greta-select-routes kv-cache-dtype=f16, greta-compile's
// default on GPU targets) reach every kernel that touches them: f16 kv buffers, params.kv_dtype
// and a "kv16" name part on the cache kernels of both phases, and nowhere else.
// LOWER: gk.buffer @kv0.k kv shape(#{{.*}}, f16)
// LOWER: gk.buffer @kv0.v kv shape(#{{.*}}, f16)
// LOWER: gk.kernel @prefill_rope_kv_append_h32kv8_kv16 rope_kv_append({{.*}} kv_dtype = "f16"
// LOWER: gk.kernel @prefill_attention_h32kv8d128_kv16 attention({{.*}} route flash {{.*}} kv_dtype = "f16"
// LOWER: gk.kernel @decode_matmul_qkv_{{.*}}_kv16_{{.*}} matmul_qkv({{.*}} kv_dtype = "f16"
// LOWER: gk.kernel @decode_attention_h32kv8d128_kv16 attention({{.*}} route split_kv {{.*}} kv_dtype = "f16"
// LOWER-NOT: kv_dtype

// The caches' element is the binary16 bits; stores round through the common/kv_cache.hip
// overloads, loads widen.
// CHECK-LABEL: family rope_kv_append
// CHECK: using KVValue = u16;
// CHECK: KVValue *k_cache;
// CHECK: __device__ __forceinline__ void kv_store2(u16 *at, float2 v) {
// CHECK: kv_store4(vCache + 4 * i, v[i]);
// The flash kernel is attention_flash_mma_f16: cache rows stream into shared memory as they
// are (asynchronous copies, two buffers), queries (hi and lo) multiply the exact binary16 keys,
// and P V reads V k-major.
// CHECK-LABEL: family attention, route flash
// CHECK: using KVValue = u16;
// CHECK: const KVValue *k_cache;
// CHECK: "binary16 caches (attention_flash_mma reads f32 ones)");
// CHECK: copy_async_16(key, p.k_cache + at);
// CHECK: mma(score[j], queryHi[gi][kk], b);
// CHECK-NEXT: mma(score[j], queryLo[gi][kk], b);
// CHECK: mma_load_b_trans(b, valueTile + kk * kMmaK * kRowStride + j * kMmaN, kRowStride);
// CHECK-LABEL: family matmul_qkv, route gemv
// CHECK: using KVValue = u16;
// CHECK: kv_store2((isKey ? p.k_cache : p.v_cache)
// Decode attention reads a lane's four neighbouring dimensions of a key in one 8-byte load.
// CHECK-LABEL: family attention, route split_kv
// CHECK: using KVValue = u16;
// CHECK: const float4 four = kv_load4(row + first + j);
// CHECK: load_dims(p.k_cache + at, lane, k[u]);
