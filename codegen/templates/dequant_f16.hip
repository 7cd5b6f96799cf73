{{BANNER}}
#include "greta_prelude.h"

using namespace greta;

{{CONSTANTS}}

{{PARAMS}}

{{> common/half}}

{{QUANT}}

//===--- dequant_f16: out[n][k] = binary16(W[n][k]) ---===//
// A prefill gemm on matrix units multiplies binary16 operands; decoding a weight row there costs
// as much as the products of a tile of tokens, and every tile of tokens would decode it again.
// This launch decodes the whole matrix once into a scratch buffer (row n at n · kK values) that
// the gemm then streams with asynchronous copies. Each thread decodes one chunk of kChunk values
// (dequant_chunk of the weight's format) and stores it as one 16-byte vector: consecutive
// threads write consecutive vectors of a row.
static_assert(kChunk == 8, "a chunk is one 16-byte vector of binary16 values");
static_assert(kK % kChunk == 0, "rows are whole chunks");
static_assert(kRowBytes == static_cast<i64>(kK) / kQuantBlockElements * kQuantBlockBytes,
              "row stride agrees with the block layout");
constexpr int kChunksPerRow = kK / kChunk;
constexpr i64 kChunks = static_cast<i64>(kN) * kChunksPerRow;

GRETA_KERNEL(kBlock) {{ENTRY}}(const Params p) {
  // The weights are constant; the scratch buffer may still be read by the launch before.
  wait_for_producers();
  const i64 chunk = static_cast<i64>(blockIdx.x) * kBlock + threadIdx.x;
  if (chunk >= kChunks)
    return;
  const i64 n = chunk / kChunksPerRow;
  const int c = static_cast<int>(chunk % kChunksPerRow);
  float values[kChunk];
  dequant_chunk(p.weight + n * kRowBytes, c, values);
  reinterpret_cast<uint4 *>(p.out)[chunk] =
      make_uint4(pack_f16x2(values[0], values[1]), pack_f16x2(values[2], values[3]),
                 pack_f16x2(values[4], values[5]), pack_f16x2(values[6], values[7]));
}
