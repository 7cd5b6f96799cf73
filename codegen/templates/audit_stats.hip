{{BANNER}}
#include "greta_prelude.h"

using namespace greta;

{{CONSTANTS}}

/// Bytes of the record (runtime/bundle/audit_record.h kAuditRecordBytes).
constexpr int kAuditRecordBytes = 64;

/// The record of runtime/bundle/audit_record.h, byte for byte (little-endian).
struct AuditRecord {
  u64 hash;           ///< FNV-1a 64 over the float32 bit patterns of the row, in order
  double sum_squares; ///< sum of x², in double
  float min;
  float max;
  float mean;         ///< sum / count, the sum in double
  u32 count;
  i32 top1_id;        ///< logits only: the two largest values, ties to the lower id
  float top1_logit;
  i32 top2_id;
  float top2_logit;
  float gap;          ///< top1 − top2
  u32 is_logits;
  u32 reserved[2];
};
static_assert(sizeof(AuditRecord) == kAuditRecordBytes, "the record is part of the bundle format");

{{PARAMS}}

//===--- audit_stats: the audit record of the last row of x ---===//
// One block. Threads reduce min, max, the sums (in double) and, for logits, the top two;
// thread 0 then hashes the row, a byte at a time in order, as FNV-1a requires (a diagnostic
// path: about a millisecond for a 128k vocabulary).
constexpr u64 kFnvOffsetBasis = 0xcbf29ce484222325ull;
constexpr u64 kFnvPrime = 0x100000001b3ull;
constexpr int kWarps = kBlock / kWarpSize;

/// The two best (value, id) pairs seen, best first: larger value, then lower id.
struct TopTwo {
  float value1;
  i32 id1;
  float value2;
  i32 id2;
};

/// True when (a, ia) ranks before (b, ib); an id of -1 is an empty slot.
__device__ __forceinline__ bool ranks_before(float a, i32 ia, float b, i32 ib) {
  return ia >= 0 && (ib < 0 || a > b || (a == b && ia < ib));
}

__device__ __forceinline__ void offer(TopTwo &top, float value, i32 id) {
  if (ranks_before(value, id, top.value1, top.id1)) {
    top.value2 = top.value1;
    top.id2 = top.id1;
    top.value1 = value;
    top.id1 = id;
  } else if (ranks_before(value, id, top.value2, top.id2)) {
    top.value2 = value;
    top.id2 = id;
  }
}

__device__ __forceinline__ void merge(TopTwo &top, const TopTwo &other) {
  offer(top, other.value1, other.id1);
  offer(top, other.value2, other.id2);
}

GRETA_KERNEL(kBlock) {{ENTRY}}(const Params p) {
  __shared__ double sumScratch[kWarps];
  __shared__ float floatScratch[kWarps];
  __shared__ TopTwo topScratch[kWarps];
  const float *x = p.x; // the last row

  float low = x[0];
  float high = x[0];
  double sum = 0.0;
  double sumSquares = 0.0;
  TopTwo top = {0.0f, -1, 0.0f, -1};
  for (int i = threadIdx.x; i < kN; i += kBlock) {
    const float value = x[i];
    low = fminf(low, value);
    high = fmaxf(high, value);
    sum += value;
    sumSquares += static_cast<double>(value) * value;
    if (kIsLogits)
      offer(top, value, i);
  }
  sum = block_reduce_sum<kBlock>(sum, sumScratch);
  sumSquares = block_reduce_sum<kBlock>(sumSquares, sumScratch);
  high = block_reduce_max<kBlock>(high, floatScratch, high);
  low = -block_reduce_max<kBlock>(-low, floatScratch, -low);
  if (kIsLogits) {
    for (int offset = kWarpSize / 2; offset > 0; offset /= 2) {
      TopTwo other = {shfl_xor(top.value1, offset), shfl_xor(top.id1, offset),
                      shfl_xor(top.value2, offset), shfl_xor(top.id2, offset)};
      merge(top, other);
    }
    if (lane_id() == 0)
      topScratch[warp_id()] = top;
    __syncthreads();
    if (threadIdx.x == 0)
      for (int w = 1; w < kWarps; ++w)
        merge(top, topScratch[w]);
  }
  if (threadIdx.x != 0)
    return;

  u64 hash = kFnvOffsetBasis;
  for (int i = 0; i < kN; ++i) {
    const u32 bits = __float_as_uint(x[i]);
#pragma unroll
    for (int byte = 0; byte < 4; ++byte) {
      hash ^= (bits >> (8 * byte)) & 0xffu;
      hash *= kFnvPrime;
    }
  }
  AuditRecord record = {};
  record.hash = hash;
  record.sum_squares = sumSquares;
  record.min = low;
  record.max = high;
  record.mean = static_cast<float>(sum / kN);
  record.count = kN;
  record.top1_id = -1;
  record.top2_id = -1;
  if (kIsLogits) {
    record.is_logits = 1;
    record.top1_id = top.id1;
    record.top1_logit = top.value1;
    record.top2_id = top.id2;
    record.top2_logit = top.value2;
    record.gap = top.id2 < 0 ? 0.0f : top.value1 - top.value2;
  }
  *p.stats = record;
}
