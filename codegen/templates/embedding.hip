{{BANNER}}
#include "greta_prelude.h"

using namespace greta;

{{CONSTANTS}}

{{PARAMS}}

{{> common/half}}

{{QUANT}}

//===--- embedding: out[s] = dequant(table[tokens[s]]) ---===//
// One block per token row; the block's threads decode the table row kChunk values at a time.
// A token id outside [0, kVocab) writes a row of NaN, which every later check sees (the CPU
// backend refuses such ids before running).
static_assert(kDim % kChunk == 0, "rows decode in whole chunks");
static_assert(kRowBytes == static_cast<i64>(kDim) / kQuantBlockElements * kQuantBlockBytes,
              "row stride agrees with the block layout");

GRETA_KERNEL(kBlock) {{ENTRY}}(const Params p) {
  wait_for_producers();
  const int s = blockIdx.x;
  if (s >= p.rows)
    return;
  float *out = p.out + static_cast<i64>(s) * kDim;
  const i32 token = p.tokens[s];
  if (token < 0 || token >= kVocab) {
    for (int i = threadIdx.x; i < kDim; i += kBlock)
      out[i] = __int_as_float(0x7fc00000);
    return;
  }
  const u8 *row = p.table + static_cast<i64>(token) * kRowBytes;
  for (int c = threadIdx.x; c < kDim / kChunk; c += kBlock) {
    float values[kChunk];
    dequant_chunk(row, c, values);
#pragma unroll
    for (int i = 0; i < kChunk; ++i)
      out[c * kChunk + i] = values[i];
  }
}
