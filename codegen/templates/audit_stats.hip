{{BANNER}}
#include "greta_prelude.h"

using namespace greta;

{{CONSTANTS}}

/// Bytes of the record (runtime/bundle/audit_record.h kAuditRecordBytes).
constexpr int kAuditRecordBytes = 64;

/// The record of runtime/bundle/audit_record.h, byte for byte (little-endian).
struct AuditRecord {
  u64 hash;           ///< the row's FNV-1a 64 tree digest (runtime/support/audit_digest.h)
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
// The digest is the FNV-1a 64 tree of runtime/support/audit_digest.h, whose file comment gives
// the cost model behind its shape: leaves of kDigestChunk values, groups of kDigestGroup leaves,
// and the root over the groups in order. Any grid works (the compiler launches one block per
// kBlock · kDigestChunk values, so every leaf has a thread):
//   1. each thread hashes one leaf — its values in registers — and reduces the leaf's min, max,
//      sums (in double) and top two; a block covers kBlock / kDigestGroup groups per batch;
//   2. one thread per group folds the group's leaf digests and stats in leaf order into
//      g_partials[group];
//   3. the last block to arrive reduces the partials — the stats by a block reduction, the digest
//      by one thread over the group digests in group order — writes the record and resets the
//      arrival counter for the next launch (a graph replay starts from zero).
// Every combination runs in a fixed order, so the record does not depend on timing. The
// partials live in module globals: the runtime runs one launch of a kernel at a time.
constexpr u64 kFnvOffsetBasis = 0xcbf29ce484222325ull;
constexpr u64 kFnvPrime = 0x100000001b3ull;
/// Values per leaf and leaves per group: audit_digest.h kAuditDigestChunk / kAuditDigestGroup.
constexpr int kDigestChunk = 64;
constexpr int kDigestGroup = 32;
constexpr int kGroupValues = kDigestChunk * kDigestGroup;
constexpr int kGroups = (kN + kGroupValues - 1) / kGroupValues;
constexpr int kGroupsPerBatch = kBlock / kDigestGroup;
constexpr int kBatches = (kGroups + kGroupsPerBatch - 1) / kGroupsPerBatch;
constexpr int kWarps = kBlock / kWarpSize;
/// The last block stages every group digest in shared memory (16 KiB): rows up to 4M values.
constexpr int kMaxGroups = 2048;
static_assert(kN > 0, "an audited row has values");
static_assert(kBlock % kDigestGroup == 0 && kBlock % kWarpSize == 0,
              "a block holds whole groups and whole warps");
static_assert(kGroups <= kMaxGroups, "the audited row is longer than kMaxGroups groups");

/// The two best (value, id) pairs seen, best first: larger value, then lower id.
struct TopTwo {
  float value1;
  i32 id1;
  float value2;
  i32 id2;
};

/// What a leaf, a group or a thread has seen of the row.
struct Stats {
  double sum;
  double sumSquares;
  float min;
  float max;
  TopTwo top;
};

/// A group's digest and stats, for the last block.
struct Partial {
  u64 digest;
  Stats stats;
};

__device__ Partial g_partials[kGroups];
__device__ u32 g_arrivals;

/// True when (a, ia) ranks before (b, ib); an id of -1 is an empty slot.
__device__ __forceinline__ bool ranks_before(float a, i32 ia, float b, i32 ib) {
  return ia >= 0 && (ib < 0 || a > b || (a == b && ia < ib));
}

/// Offers (value, id) to `top`. Selects, not branches: unrolled over a leaf, branches made the
/// kernel take seconds to compile.
__device__ __forceinline__ void offer(TopTwo &top, float value, i32 id) {
  const bool first = ranks_before(value, id, top.value1, top.id1);
  const bool second = ranks_before(value, id, top.value2, top.id2);
  top.value2 = first ? top.value1 : (second ? value : top.value2);
  top.id2 = first ? top.id1 : (second ? id : top.id2);
  top.value1 = first ? value : top.value1;
  top.id1 = first ? id : top.id1;
}

__device__ __forceinline__ void merge(TopTwo &top, const TopTwo &other) {
  offer(top, other.value1, other.id1);
  offer(top, other.value2, other.id2);
}

__device__ __forceinline__ Stats empty_stats() {
  const float infinity = __int_as_float(0x7f800000);
  return Stats{0.0, 0.0, infinity, -infinity, TopTwo{0.0f, -1, 0.0f, -1}};
}

__device__ __forceinline__ void add_value(Stats &stats, float value, i32 id) {
  stats.sum += value;
  stats.sumSquares += static_cast<double>(value) * value;
  stats.min = fminf(stats.min, value);
  stats.max = fmaxf(stats.max, value);
  if (kIsLogits)
    offer(stats.top, value, id);
}

__device__ __forceinline__ void merge(Stats &stats, const Stats &other) {
  stats.sum += other.sum;
  stats.sumSquares += other.sumSquares;
  stats.min = fminf(stats.min, other.min);
  stats.max = fmaxf(stats.max, other.max);
  if (kIsLogits)
    merge(stats.top, other.top);
}

/// FNV-1a 64 over the 4 little-endian bytes of `value`'s bit pattern.
__device__ __forceinline__ u64 fnv_float(u64 hash, float value) {
  const u32 bits = __float_as_uint(value);
#pragma unroll
  for (int byte = 0; byte < 4; ++byte) {
    hash ^= (bits >> (8 * byte)) & 0xffu;
    hash *= kFnvPrime;
  }
  return hash;
}

/// FNV-1a 64 over the 8 little-endian bytes of `word`.
__device__ __forceinline__ u64 fnv_word(u64 hash, u64 word) {
#pragma unroll
  for (int byte = 0; byte < 8; ++byte) {
    hash ^= (word >> (8 * byte)) & 0xffu;
    hash *= kFnvPrime;
  }
  return hash;
}

/// A partial another block wrote (volatile: not from this SM's cache).
__device__ __forceinline__ Partial load_partial(const volatile Partial &p) {
  Partial out;
  out.digest = p.digest;
  out.stats.sum = p.stats.sum;
  out.stats.sumSquares = p.stats.sumSquares;
  out.stats.min = p.stats.min;
  out.stats.max = p.stats.max;
  out.stats.top.value1 = p.stats.top.value1;
  out.stats.top.id1 = p.stats.top.id1;
  out.stats.top.value2 = p.stats.top.value2;
  out.stats.top.id2 = p.stats.top.id2;
  return out;
}

/// The block's best two, in thread 0 (a barrier first: `scratch` may be reused at once).
__device__ __forceinline__ TopTwo block_reduce_top(TopTwo top, TopTwo *scratch) {
  for (int offset = kWarpSize / 2; offset > 0; offset /= 2) {
    TopTwo other = {shfl_xor(top.value1, offset), shfl_xor(top.id1, offset),
                    shfl_xor(top.value2, offset), shfl_xor(top.id2, offset)};
    merge(top, other);
  }
  if (lane_id() == 0)
    scratch[warp_id()] = top;
  __syncthreads();
  if (threadIdx.x == 0)
    for (int w = 1; w < kWarps; ++w)
      merge(top, scratch[w]);
  __syncthreads();
  return top;
}

GRETA_KERNEL(kBlock) {{ENTRY}}(const Params p) {
  wait_for_producers();
  __shared__ u64 leafDigests[kBlock];
  __shared__ Stats leafStats[kBlock];
  const float *x = p.x; // the last row
  const int leaf = static_cast<int>(threadIdx.x) % kDigestGroup;
  const int slot = static_cast<int>(threadIdx.x) / kDigestGroup;

  // 1-2. Leaves, then groups, a batch of kGroupsPerBatch groups at a time.
  for (int batch = static_cast<int>(blockIdx.x); batch < kBatches;
       batch += static_cast<int>(gridDim.x)) {
    const int group = batch * kGroupsPerBatch + slot;
    const int begin = group * kGroupValues + leaf * kDigestChunk;
    const int left = kN - begin;
    const int count = left < 0 ? 0 : (left < kDigestChunk ? left : kDigestChunk);
    float values[kDigestChunk];
#pragma unroll
    for (int i = 0; i < kDigestChunk; ++i) // every load issued before the hash needs one
      values[i] = i < count ? x[begin + i] : 0.0f;
    u64 digest = kFnvOffsetBasis;
    Stats stats = empty_stats();
#pragma unroll
    for (int i = 0; i < kDigestChunk; ++i)
      if (i < count) {
        digest = fnv_float(digest, values[i]);
        add_value(stats, values[i], begin + i);
      }
    leafDigests[threadIdx.x] = digest;
    leafStats[threadIdx.x] = stats;
    __syncthreads();
    if (leaf == 0 && group < kGroups) {
      const int groupLeft = kN - group * kGroupValues;
      const int leaves = groupLeft >= kGroupValues ? kDigestGroup
                                                   : (groupLeft + kDigestChunk - 1) / kDigestChunk;
      Partial partial;
      partial.digest = kFnvOffsetBasis;
      partial.stats = empty_stats();
      for (int l = 0; l < leaves; ++l) {
        partial.digest = fnv_word(partial.digest, leafDigests[threadIdx.x + l]);
        merge(partial.stats, leafStats[threadIdx.x + l]);
      }
      g_partials[group] = partial;
    }
    __syncthreads(); // the shared leaves are reused by the next batch
  }

  // 3. The last block to arrive reduces the groups.
  __threadfence(); // this block's partials are visible before its arrival counts
  __syncthreads();
  __shared__ bool isLast;
  if (threadIdx.x == 0)
    isLast = atomicAdd(&g_arrivals, 1u) == gridDim.x - 1;
  __syncthreads();
  if (!isLast)
    return;
  __threadfence();

  __shared__ u64 groupDigests[kGroups];
  __shared__ double sumScratch[kWarps];
  __shared__ float floatScratch[kWarps];
  __shared__ TopTwo topScratch[kWarps];
  const volatile Partial *partials = g_partials;
  Stats stats = empty_stats();
  for (int g = static_cast<int>(threadIdx.x); g < kGroups; g += kBlock) {
    const Partial partial = load_partial(partials[g]);
    groupDigests[g] = partial.digest;
    merge(stats, partial.stats);
  }
  __syncthreads(); // the group digests are staged (the reductions below may not sync: one warp)
  const double sum = block_reduce_sum<kBlock>(stats.sum, sumScratch);
  const double sumSquares = block_reduce_sum<kBlock>(stats.sumSquares, sumScratch);
  const float high = block_reduce_max<kBlock>(stats.max, floatScratch, stats.max);
  const float low = -block_reduce_max<kBlock>(-stats.min, floatScratch, -stats.min);
  TopTwo top = stats.top;
  if (kIsLogits)
    top = block_reduce_top(top, topScratch);
  if (threadIdx.x != 0)
    return;

  u64 digest = kFnvOffsetBasis;
  for (int g = 0; g < kGroups; ++g)
    digest = fnv_word(digest, groupDigests[g]);
  AuditRecord record = {};
  record.hash = digest;
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
  g_arrivals = 0; // every block has arrived: ready for the next launch
}
