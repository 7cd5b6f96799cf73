//===- rms_norm.cpp - CPU families `rms_norm` and `add_rms_norm` -----------===//
//
// rms_norm: out = x / sqrt(mean(x²) + eps) * w, per row.
// add_rms_norm: sum = a + b; out = rms_norm(sum) — the residual add fused with the next norm.
// Both normalise through rmsNormRow, as does the matmul prologue.
//
//===----------------------------------------------------------------------===//
#include "runtime/cpu/kernels/families.h"

#include "runtime/cpu/row_ops.h"

namespace greta::cpu {
namespace {

/// A row of a few thousand values takes microseconds: split only across several rows.
constexpr uint64_t kMinRowsPerThread = 4;

class RmsNormLaunch final : public CpuLaunch {
public:
  explicit RmsNormLaunch(const LaunchBinding &b)
      : x_(b.buffer("x")), out_(b.buffer("out")), weight_(dequantizeWeight(b.weight("weight"))),
        eps_(static_cast<float>(b.number("eps"))), dim_(static_cast<uint64_t>(b.dim("dim"))) {}

  void run(const RunContext &context) override {
    const uint64_t rows = out_.rowsAt(context.seq);
    const float *x = x_.lastRows(context.seq, rows);
    float *out = out_.lastRows(context.seq, rows);
    context.pool->parallelFor(rows, kMinRowsPerThread, [&](uint64_t begin, uint64_t end) {
      for (uint64_t s = begin; s < end; ++s)
        rmsNormRow(x + s * dim_, weight_.data(), eps_, dim_, out + s * dim_);
    });
  }

private:
  CpuBuffer &x_;
  CpuBuffer &out_;
  std::vector<float> weight_;
  float eps_;
  uint64_t dim_;
};

class AddRmsNormLaunch final : public CpuLaunch {
public:
  explicit AddRmsNormLaunch(const LaunchBinding &b)
      : a_(b.buffer("a")), b_(b.buffer("b")), sum_(b.buffer("sum")), out_(b.buffer("out")),
        weight_(dequantizeWeight(b.weight("weight"))), eps_(static_cast<float>(b.number("eps"))),
        dim_(static_cast<uint64_t>(b.dim("dim"))) {}

  void run(const RunContext &context) override {
    const uint64_t rows = out_.rowsAt(context.seq);
    const float *a = a_.lastRows(context.seq, rows);
    const float *b = b_.lastRows(context.seq, rows);
    float *sum = sum_.lastRows(context.seq, rows);
    float *out = out_.lastRows(context.seq, rows);
    context.pool->parallelFor(rows, kMinRowsPerThread, [&](uint64_t begin, uint64_t end) {
      for (uint64_t s = begin; s < end; ++s) {
        const uint64_t row = s * dim_;
        for (uint64_t i = 0; i < dim_; ++i)
          sum[row + i] = a[row + i] + b[row + i];
        rmsNormRow(sum + row, weight_.data(), eps_, dim_, out + row);
      }
    });
  }

private:
  CpuBuffer &a_;
  CpuBuffer &b_;
  CpuBuffer &sum_;
  CpuBuffer &out_;
  std::vector<float> weight_;
  float eps_;
  uint64_t dim_;
};

} // namespace

std::unique_ptr<CpuLaunch> makeRmsNorm(const LaunchBinding &binding) {
  return std::make_unique<RmsNormLaunch>(binding);
}

std::unique_ptr<CpuLaunch> makeAddRmsNorm(const LaunchBinding &binding) {
  return std::make_unique<AddRmsNormLaunch>(binding);
}

} // namespace greta::cpu
