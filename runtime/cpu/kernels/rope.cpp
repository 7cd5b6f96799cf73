//===- rope.cpp - CPU families `rope` and `rope_kv_append` -----------------===//
//
// rope: rotates, in place, the adjacent pairs (2i, 2i+1) of every head of each row by
// position · theta^(−2i/head_dim) / freqs[i] (GGUF Llama order).
// rope_kv_append: rope(q), rope(k), then k and v rows into the caches at their positions.
//
//===----------------------------------------------------------------------===//
#include "runtime/cpu/kernels/families.h"

#include "runtime/cpu/row_ops.h"

namespace greta::cpu {
namespace {

constexpr uint64_t kMinRowsPerThread = 4;

/// Rotates the last `rows` rows of `buffer` (heads × headDim values each).
void rotateRows(const RopeTable &table, float *x, const int32_t *positions, uint64_t rows,
                uint64_t heads, uint64_t headDim, ThreadPool &pool) {
  pool.parallelFor(rows, kMinRowsPerThread, [&](uint64_t begin, uint64_t end) {
    for (uint64_t s = begin; s < end; ++s)
      table.rotate(x + s * heads * headDim, heads, positions[s]);
  });
}

class RopeLaunch final : public CpuLaunch {
public:
  explicit RopeLaunch(const LaunchBinding &b)
      : x_(b.buffer("x")), positions_(b.buffer("positions")),
        heads_(static_cast<uint64_t>(b.dim("heads"))),
        headDim_(static_cast<uint64_t>(b.dim("head_dim"))),
        table_(headDim_, b.number("theta"), b.ropeFreqs()) {}

  void run(const RunContext &context) override {
    const uint64_t rows = x_.rowsAt(context.seq);
    rotateRows(table_, x_.lastRows(context.seq, rows), positions_.lastRowsI32(context.seq, rows),
               rows, heads_, headDim_, *context.pool);
  }

private:
  CpuBuffer &x_;
  CpuBuffer &positions_;
  uint64_t heads_;
  uint64_t headDim_;
  RopeTable table_;
};

class RopeKvAppendLaunch final : public CpuLaunch {
public:
  explicit RopeKvAppendLaunch(const LaunchBinding &b)
      : q_(b.buffer("q")), k_(b.buffer("k")), v_(b.buffer("v")), positions_(b.buffer("positions")),
        kCache_(b.buffer("k_cache")), vCache_(b.buffer("v_cache")),
        heads_(static_cast<uint64_t>(b.dim("heads"))),
        kvHeads_(static_cast<uint64_t>(b.dim("kv_heads"))),
        headDim_(static_cast<uint64_t>(b.dim("head_dim"))),
        table_(headDim_, b.number("theta"), b.ropeFreqs()), label_(b.label()) {}

  void run(const RunContext &context) override {
    const uint64_t rows = q_.rowsAt(context.seq);
    const int32_t *positions = positions_.lastRowsI32(context.seq, rows);
    float *k = k_.lastRows(context.seq, rows);
    rotateRows(table_, q_.lastRows(context.seq, rows), positions, rows, heads_, headDim_,
               *context.pool);
    rotateRows(table_, k, positions, rows, kvHeads_, headDim_, *context.pool);
    appendKvRows(k, v_.lastRows(context.seq, rows), positions, rows, kCache_, vCache_, label_);
  }

private:
  CpuBuffer &q_;
  CpuBuffer &k_;
  CpuBuffer &v_;
  CpuBuffer &positions_;
  CpuBuffer &kCache_;
  CpuBuffer &vCache_;
  uint64_t heads_;
  uint64_t kvHeads_;
  uint64_t headDim_;
  RopeTable table_;
  std::string label_;
};

} // namespace

std::unique_ptr<CpuLaunch> makeRope(const LaunchBinding &binding) {
  return std::make_unique<RopeLaunch>(binding);
}

std::unique_ptr<CpuLaunch> makeRopeKvAppend(const LaunchBinding &binding) {
  return std::make_unique<RopeKvAppendLaunch>(binding);
}

} // namespace greta::cpu
