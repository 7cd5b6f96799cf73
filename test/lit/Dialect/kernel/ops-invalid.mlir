// RUN: greta-opt %s --split-input-file --verify-diagnostics

// Tests that an unknown kernel family is a parse error.
// expected-error@+1 {{unknown kernel family 'conv2d'}}
gk.kernel @k conv2d(activation, activation)

// -----

// Tests that an unknown buffer kind is a parse error.
// expected-error@+1 {{unknown buffer kind 'texture'}}
gk.kernel @k add(activation, texture)

// -----

// Tests that a kernel binds its family's buffer kinds, in order.
// expected-error@+1 {{rms_norm binds (activation, weight, activation), not (activation, activation)}}
gk.kernel @k rms_norm(activation, activation)

// -----

// Tests that a prologue adds the norm weight to a matmul's buffers.
// expected-error@+1 {{matmul with a prologue binds (activation, weight, activation, weight), not (activation, weight, activation)}}
gk.kernel @k matmul(activation, weight, activation) route gemv quant q8_0 prologue {
^bb0(%x: f32, %gamma: f32, %inv_rms: f32):
  gk.yield %x : f32
}

// -----

// Tests that a family that reads a weight matrix names its quant type.
// expected-error@+1 {{matmul reads a weight matrix; give its quant type}}
gk.kernel @k matmul(activation, weight, activation) route gemv

// -----

// Tests that other families take no quant type.
// expected-error@+1 {{rms_norm reads no weight matrix; drop quant}}
gk.kernel @k rms_norm(activation, weight, activation) quant q4_k

// -----

// Tests that the matrix families need a route.
// expected-error@+1 {{lm_head needs a route (gemv or gemm)}}
gk.kernel @k lm_head(activation, weight, logits) quant q6_k

// -----

// Tests that a route must belong to the family.
// expected-error@+1 {{route gemv is not a route of attention}}
gk.kernel @k attention(activation, kv, kv, input, activation) route gemv

// -----

// Tests that families without variants take no route.
// expected-error@+1 {{add takes no route}}
gk.kernel @k add(activation, activation, activation) route gemm

// -----

// Tests that matrix-unit routes need tile sizes.
// expected-error@+1 {{route gemm needs tile sizes (tiles<...>)}}
gk.kernel @k matmul(activation, weight, activation) route gemm quant q4_k

// -----

// Tests that split_k is only for the split-reduction routes.
// expected-error@+1 {{split_k = 4 needs route gemv or split_kv}}
gk.kernel @k matmul(activation, weight, activation) route gemm quant q4_k tiles<tile_m = 64, tile_n = 64, tile_k = 32, split_k = 4>

// -----

// Tests that a quantized product's reduction tile does not split a quant block.
// expected-error@+1 {{tile_k = 48 splits a q4_k block (use a multiple of 32)}}
gk.kernel @k matmul(activation, weight, activation) route gemm quant q4_k tiles<tile_m = 64, tile_n = 64, tile_k = 48>

// -----

// Tests that tile sizes are positive.
// expected-error@+1 {{#gk.tiles sizes must be positive, got tile_m = 0, tile_n = 1, tile_k = 1, split_k = 1}}
gk.kernel @k matmul(activation, weight, activation) route gemm quant f16 tiles<tile_m = 0>

// -----

// Tests that only the matmul families fuse an epilogue.
// expected-error@+1 {{rms_norm takes no epilogue}}
gk.kernel @k rms_norm(activation, weight, activation) epilogue {
^bb0(%acc: f32, %res: f32):
  gk.yield %acc : f32
}

// -----

// Tests that the LM head takes no prologue.
// expected-error@+1 {{lm_head takes no prologue}}
gk.kernel @k lm_head(activation, weight, logits, weight) route gemv quant q6_k prologue {
^bb0(%x: f32, %gamma: f32, %inv_rms: f32):
  gk.yield %x : f32
}

// -----

// Tests that a fused gate/up kernel needs its epilogue.
// expected-error@+1 {{matmul_gate_up needs an epilogue}}
gk.kernel @k matmul_gate_up(activation, weight, weight, activation) route gemv quant q4_k

// -----

// Tests that an epilogue takes (acc, operand).
// expected-error@+1 {{epilogue body takes 2 arguments, got 1}}
gk.kernel @k matmul(activation, weight, activation, activation) route gemv quant q8_0 epilogue {
^bb0(%acc: f32):
  gk.yield %acc : f32
}

// -----

// Tests that a prologue takes (x, gamma, inv_rms).
// expected-error@+1 {{prologue body takes 3 arguments, got 0}}
gk.kernel @k matmul(activation, weight, activation, weight) route gemv quant q8_0 prologue {
  %c = arith.constant 1.0 : f32
  gk.yield %c : f32
}

// -----

// Tests that body arguments are f32.
// expected-error@+1 {{epilogue argument #1 must be f32, got 'f16'}}
gk.kernel @k matmul(activation, weight, activation, activation) route gemv quant q8_0 epilogue {
^bb0(%acc: f32, %res: f16):
  gk.yield %acc : f32
}

// -----

// Tests that a body yields exactly one f32.
// expected-error@+1 {{epilogue body must end in gk.yield of one f32}}
gk.kernel @k matmul(activation, weight, activation, activation) route gemv quant q8_0 epilogue {
^bb0(%acc: f32, %res: f32):
  gk.yield %acc, %res : f32, f32
}

// -----

// Tests that a body holds only element-wise arith and math ops.
gk.kernel @k matmul(activation, weight, activation, activation) route gemv quant q8_0 epilogue {
^bb0(%acc: f32, %res: f32):
  // expected-error@+1 {{'tensor.empty' op cannot appear in a gk.kernel epilogue (only element-wise arith and math ops on scalars)}}
  %t = tensor.empty() : tensor<4xf32>
  gk.yield %acc : f32
}

// -----

// Tests that kernels are module-level symbols.
func.func @f() {
  // expected-error@+1 {{'gk.kernel' op expects parent op 'builtin.module'}}
  gk.kernel @k add(activation, activation, activation)
  return
}

// -----

// Tests that a buffer is sized by shape or by bytes, not both.
// expected-error@+1 {{is sized by shape(...) or by bytes(...): exactly one}}
gk.buffer @b activation shape(affine_map<(s) -> (s, 64)>, f32) bytes(256)

// -----

// Tests that a buffer is sized at all.
// expected-error@+1 {{is sized by shape(...) or by bytes(...): exactly one}}
gk.buffer @b activation

// -----

// Tests that a buffer shape is a function of the sequence length alone.
// expected-error@+1 {{shape must map the sequence length to 1 or 2 sizes, got affine_map<(d0, d1) -> (d0, d1)>}}
gk.buffer @b activation shape(affine_map<(s, t) -> (s, t)>, f32)

// -----

// Tests that only KV caches are sized by the run-time context length.
// expected-error@+1 {{shape must map the sequence length to 1 or 2 sizes, got affine_map<(d0)[s0] -> (s0, 64)>}}
gk.buffer @b activation shape(affine_map<(s)[ctx] -> (ctx, 64)>, f32)

// -----

// Tests that buffer dimensions have the bundle's row forms.
// expected-error@+1 {{shape dimension #0 must be a positive constant, the sequence length or the context length}}
gk.buffer @b kv shape(affine_map<(s)[ctx] -> (ctx * 2, 64)>, f16)

// -----

// Tests that buffer bytes are positive.
// expected-error@+1 {{bytes must be positive, got 0}}
gk.buffer @b audit bytes(0)

// -----

// Tests that a weight buffer names its source weight.
// expected-error@+1 {{weight buffer needs source(@weight)}}
gk.buffer @b weight bytes(256)

// -----

// Tests that only weight buffers have a source.
greta.weight @w : !greta.weight<64, f32> {gguf_name = "w"}
// expected-error@+1 {{only a weight buffer has a source}}
gk.buffer @b activation bytes(256) source(@w)

// -----

// Tests that a weight buffer's source is a greta.weight.
gk.buffer @other audit bytes(16)
// expected-error@+1 {{'source' refers to @other, a 'gk.buffer', not a greta.weight}}
gk.buffer @b weight bytes(256) source(@other)

// -----

// Tests that a plan is named after a phase.
// expected-error@+1 {{is named @warmup; a plan is named after its phase (@prefill or @decode)}}
gk.plan @warmup {
  gk.launch @k(@a, @p) grid = affine_map<(s) -> (s)>
}

// -----

// Tests that a plan holds only launches.
gk.plan @decode {
  // expected-error@+1 {{'arith.constant' op cannot appear in a gk.plan (only gk.launch, gk.audit_launch)}}
  %c = arith.constant 0 : i32
}

// -----

// Tests that a launch is inside a plan.
gk.kernel @k rope(activation, input)
gk.buffer @a activation bytes(4)
gk.buffer @p input bytes(4)
func.func @f() {
  // expected-error@+1 {{expects parent op 'gk.plan'}}
  gk.launch @k(@a, @p) grid = affine_map<(s) -> (s)>
  return
}

// -----

// Tests that a launch names an existing kernel.
gk.buffer @a activation bytes(4)
gk.plan @decode {
  // expected-error@+1 {{@missing is not a gk.kernel}}
  gk.launch @missing(@a) grid = affine_map<(s) -> (s)>
}

// -----

// Tests that a launch binds as many buffers as the kernel takes.
gk.kernel @k add(activation, activation, activation)
gk.buffer @a activation bytes(4)
gk.plan @decode {
  // expected-error@+1 {{binds 2 buffers but @k takes 3}}
  gk.launch @k(@a, @a) grid = affine_map<(s) -> (s)>
}

// -----

// Tests that launch buffers are gk.buffers.
greta.weight @w : !greta.weight<64, f32> {gguf_name = "w"}
gk.kernel @k rms_norm(activation, weight, activation)
gk.buffer @a activation bytes(4)
gk.plan @decode {
  // expected-error@+1 {{buffer #1 (@w) is not a gk.buffer}}
  gk.launch @k(@a, @w, @a) grid = affine_map<(s) -> (s)>
}

// -----

// Tests that launch buffers have the kinds the kernel declares.
gk.kernel @k rms_norm(activation, weight, activation)
gk.buffer @a activation bytes(4)
gk.plan @decode {
  // expected-error@+1 {{buffer #1 (@a) is activation but @k expects weight}}
  gk.launch @k(@a, @a, @a) grid = affine_map<(s) -> (s)>
}

// -----

// Tests that a grid is a function of the sequence length alone.
gk.kernel @k rope(activation, input)
gk.buffer @a activation bytes(4)
gk.buffer @p input bytes(4)
gk.plan @decode {
  // expected-error@+1 {{grid must be a map of the sequence length alone (one dimension, no symbols), got affine_map<(d0)[s0] -> (d0 + s0)>}}
  gk.launch @k(@a, @p) grid = affine_map<(s)[n] -> (s + n)>
}

// -----

// Tests that a grid has at most three dimensions.
gk.kernel @k rope(activation, input)
gk.buffer @a activation bytes(4)
gk.buffer @p input bytes(4)
gk.plan @decode {
  // expected-error@+1 {{grid must have 1 to 3 dimensions, got 4}}
  gk.launch @k(@a, @p) grid = affine_map<(s) -> (s, 1, 1, 1)>
}

// -----

// Tests that grid dimensions have the form the bundle records.
gk.kernel @k rope(activation, input)
gk.buffer @a activation bytes(4)
gk.buffer @p input bytes(4)
gk.plan @decode {
  // expected-error@+1 {{grid dimension #1 (d0 floordiv 2) is not of the form (mul * s + add) ceildiv div}}
  gk.launch @k(@a, @p) grid = affine_map<(s) -> ((s * 4 + 3) ceildiv 8, s floordiv 2)>
}

// -----

// Tests that an audit launch runs an audit_stats kernel.
gk.kernel @k rope(activation, input)
gk.buffer @a activation bytes(4)
gk.buffer @r input bytes(4)
gk.plan @decode {
  // expected-error@+1 {{@k is a rope kernel; an audit launch runs an audit_stats kernel}}
  gk.audit_launch final_rmsnorm @k(@a, @r) grid = affine_map<(s) -> (1)>
}

// -----

// Tests that a layer_output audit launch names its layer.
gk.kernel @k audit_stats(activation, audit)
gk.buffer @a activation bytes(4)
gk.buffer @r audit bytes(256)
gk.plan @decode {
  // expected-error@+1 {{takes a layer index exactly when the point is layer_output}}
  gk.audit_launch layer_output @k(@a, @r) grid = affine_map<(s) -> (1)>
}

// -----

// Tests that a scratch buffer is one row of a constant length of f16.
// expected-error@+1 {{a scratch buffer is one row of a constant length of f16}}
gk.buffer @w16 scratch shape(affine_map<(s) -> (s, 64)>, f16)

// -----

// Tests that a scratch buffer holds binary16 values.
// expected-error@+1 {{a scratch buffer is one row of a constant length of f16}}
gk.buffer @w16 scratch shape(affine_map<(s) -> (1, 64)>, f32)

// -----

// Tests that only the gemm route reads binary16 scratch weights.
// expected-error@+1 {{reads binary16 scratch weights, which only route gemm does}}
gk.kernel @k matmul(activation, weight, activation, activation, scratch) route gemv quant q4_k
    tiles<tile_n = 8, tile_k = 256> params {k = 256 : i64, n = 64 : i64}

// -----

// Tests that gate_up reads both its weights as binary16 or neither.
// expected-error@+1 {{matmul_gate_up reading binary16 weights binds (activation, weight, weight, activation, activation, scratch, scratch), not (activation, weight, weight, activation, activation, scratch)}}
gk.kernel @k matmul_gate_up(activation, weight, weight, activation, activation, scratch) route gemm quant q4_k
    tiles<tile_m = 64, tile_n = 64, tile_k = 32> params {k = 256 : i64, n = 64 : i64} epilogue {
    ^bb0(%gate: f32, %up: f32):
      %0 = arith.mulf %gate, %up : f32
      gk.yield %0 : f32
    }

// -----

// Tests that a launch binds KV caches of the type its kernel reads them as: f16 where
// params.kv_dtype is "f16".
gk.kernel @k kv_append(activation, activation, input, kv, kv) params {kv_dtype = "f16"}
gk.buffer @kk activation shape(affine_map<(s) -> (s, 64)>, f32)
gk.buffer @vv activation shape(affine_map<(s) -> (s, 64)>, f32)
gk.buffer @pos input shape(affine_map<(s) -> (s)>, i32)
gk.buffer @kc kv shape(affine_map<(s)[ctx] -> (ctx, 64)>, f32)
gk.buffer @vc kv shape(affine_map<(s)[ctx] -> (ctx, 64)>, f16)
gk.plan @decode {
  // expected-error@+1 {{buffer #3 (@kc) is a KV cache of 'f32' but @k reads its caches as f16 (params.kv_dtype)}}
  gk.launch @k(@kk, @vv, @pos, @kc, @vc) grid = affine_map<(s) -> (s)>
}

// -----

// Tests that a kernel without params.kv_dtype reads f32 caches.
gk.kernel @k kv_append(activation, activation, input, kv, kv)
gk.buffer @kk activation shape(affine_map<(s) -> (s, 64)>, f32)
gk.buffer @vv activation shape(affine_map<(s) -> (s, 64)>, f32)
gk.buffer @pos input shape(affine_map<(s) -> (s)>, i32)
gk.buffer @kc kv shape(affine_map<(s)[ctx] -> (ctx, 64)>, f32)
gk.buffer @vc kv shape(affine_map<(s)[ctx] -> (ctx, 64)>, f16)
gk.plan @decode {
  // expected-error@+1 {{buffer #4 (@vc) is a KV cache of 'f16' but @k reads its caches as f32 (params.kv_dtype)}}
  gk.launch @k(@kk, @vv, @pos, @kc, @vc) grid = affine_map<(s) -> (s)>
}
