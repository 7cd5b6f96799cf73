//===- attention.cpp - CPU family `attention` ------------------------------===//
//
// Causal attention over the KV cache: query row s attends to cache rows 0..positions[s];
// head h reads KV head h / (heads / kv_heads) (GQA); scores are scaled by 1/sqrt(head_dim) and
// normalised by a softmax that subtracts the row maximum first. Work is split over
// (row, head) pairs; each pair is computed by one thread in a fixed order. The caches are f32 or
// f16 (params.kv_dtype); f16 values are widened exactly, and the arithmetic is the same.
//
//===----------------------------------------------------------------------===//
#include "runtime/cpu/kernels/families.h"

#include "runtime/cpu/row_ops.h"
#include "runtime/cpu/weight_dot.h"
#include "runtime/support/error.h"

#include <algorithm>
#include <cmath>

namespace greta::cpu {
namespace {

/// (row, head) pairs per thread: one pair is a pass over up to `context` cache rows.
constexpr uint64_t kMinPairsPerThread = 1;

class AttentionLaunch final : public CpuLaunch {
public:
  explicit AttentionLaunch(const LaunchBinding &b)
      : q_(b.buffer("q")), kCache_(b.buffer("k_cache")), vCache_(b.buffer("v_cache")),
        positions_(b.buffer("positions")), out_(b.buffer("out")),
        heads_(static_cast<uint64_t>(b.dim("heads"))),
        kvHeads_(static_cast<uint64_t>(b.dim("kv_heads"))),
        headDim_(static_cast<uint64_t>(b.dim("head_dim"))),
        scale_(1.0f / std::sqrt(static_cast<float>(headDim_))), label_(b.label()) {}

  void run(const RunContext &context) override {
    const uint64_t rows = out_.rowsAt(context.seq);
    const float *q = q_.lastRows(context.seq, rows);
    const int32_t *positions = positions_.lastRowsI32(context.seq, rows);
    float *out = out_.lastRows(context.seq, rows);
    const uint64_t cacheRows = kCache_.rowsAllocated();
    for (uint64_t s = 0; s < rows; ++s)
      if (positions[s] < 0 || static_cast<uint64_t>(positions[s]) >= cacheRows)
        fail("{}: position {} of row {} is outside the KV cache of {} rows (the context)", label_,
             positions[s], s, cacheRows);
    context.pool->parallelFor(rows * heads_, kMinPairsPerThread, [&](uint64_t begin, uint64_t end) {
      for (uint64_t pair = begin; pair < end; ++pair) {
        const uint64_t s = pair / heads_;
        const uint64_t h = pair % heads_;
        attendOne(q + s * heads_ * headDim_ + h * headDim_, static_cast<uint64_t>(positions[s]),
                  h / (heads_ / kvHeads_), out + s * heads_ * headDim_ + h * headDim_);
      }
    });
  }

private:
  /// One query head against cache rows 0..lastPosition of KV head `kvHead`. An f16 cache's row
  /// is widened (exactly) into a per-thread scratch first, so both dtypes run the same f32
  /// arithmetic in the same order.
  void attendOne(const float *query, uint64_t lastPosition, uint64_t kvHead, float *out) const {
    const uint64_t offset = kvHead * headDim_;
    thread_local std::vector<float> scores, row;
    scores.resize(lastPosition + 1);
    row.resize(headDim_);
    float maxScore = -INFINITY;
    for (uint64_t t = 0; t <= lastPosition; ++t) {
      const float *key = readKvRow(kCache_, t, offset, headDim_, row.data());
      scores[t] = dotF32(query, key, headDim_) * scale_;
      maxScore = std::max(maxScore, scores[t]);
    }
    float sum = 0.0f;
    for (uint64_t t = 0; t <= lastPosition; ++t) {
      scores[t] = std::exp(scores[t] - maxScore);
      sum += scores[t];
    }
    std::fill(out, out + headDim_, 0.0f);
    for (uint64_t t = 0; t <= lastPosition; ++t) {
      const float weight = scores[t];
      const float *value = readKvRow(vCache_, t, offset, headDim_, row.data());
      for (uint64_t d = 0; d < headDim_; ++d)
        out[d] += weight * value[d];
    }
    const float norm = 1.0f / sum;
    for (uint64_t d = 0; d < headDim_; ++d)
      out[d] *= norm;
  }

  CpuBuffer &q_;
  CpuBuffer &kCache_;
  CpuBuffer &vCache_;
  CpuBuffer &positions_;
  CpuBuffer &out_;
  uint64_t heads_;
  uint64_t kvHeads_;
  uint64_t headDim_;
  float scale_;
  std::string label_;
};

} // namespace

std::unique_ptr<CpuLaunch> makeAttention(const LaunchBinding &binding) {
  return std::make_unique<AttentionLaunch>(binding);
}

} // namespace greta::cpu
