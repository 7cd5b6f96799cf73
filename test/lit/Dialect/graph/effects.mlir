// RUN: greta-opt %s --canonicalize --cse | FileCheck %s

// Tests that canonicalisation and CSE keep audits and KV-cache appends (they have effects) even
// when their results are unused or identical, and drop unused pure ops.
greta.weight @norm : !greta.weight<64, f32> {gguf_name = "output_norm.weight"}
greta.kv_cache @kv0 : !greta.kv<ctx = 16, kv_heads = 2, head_dim = 32, dtype = f32>
// CHECK-LABEL: func.func @effects
// CHECK-NOT: greta.add
// CHECK: greta.kv_append
// CHECK: greta.attention
// CHECK: greta.audit final_rmsnorm
// CHECK: greta.audit final_rmsnorm
// CHECK-NOT: greta.rms_norm
// CHECK: return
func.func @effects(%x: tensor<1x64xf32>, %pos: tensor<1xi32>) -> tensor<1x64xf32> {
  %unused = greta.add %x, %x : tensor<1x64xf32>
  greta.kv_append %x, %x, %pos into @kv0 : tensor<1x64xf32>, tensor<1xi32>
  %o = greta.attention %x, %pos from @kv0 heads = 2 kv_heads = 2 causal : tensor<1x64xf32>, tensor<1xi32>
  %a = greta.audit final_rmsnorm %o : tensor<1x64xf32>
  %b = greta.audit final_rmsnorm %o : tensor<1x64xf32>
  %n = greta.rms_norm %b, @norm eps = 1.0e-5 : tensor<1x64xf32>
  return %o : tensor<1x64xf32>
}
