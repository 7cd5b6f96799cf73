//===- matmul.cpp - CPU matrix products and their binary16 input (`cast_f16`) -===//
//
// The four products are y = x · Wᵀ through dotWeightRows (weight_dot.h), split over weight rows
// (output columns) across threads:
//   matmul          out = prologue(x) · Wᵀ (+ residual; out may alias residual)
//   matmul_gate_up  out = silu(x · Wgᵀ) * (x · Wuᵀ)
//   matmul_qkv      q, k, v = prologue(x) · Wqᵀ, · Wkᵀ, · Wvᵀ (one prologue for the three),
//                   then rope_kv_append on them (rope.cpp)
//   lm_head         logits of the last row of x
//   cast_f16        prologue(x) as binary16 (the GPU's gemm input on binary16 weights; the CPU's
//                   products above read x and ignore their x_f16 / *_f16 arguments)
// The rms_norm prologue normalises x through rmsNormRow into a scratch first, so a fused plan
// computes exactly what rms_norm followed by matmul computes.
//
//===----------------------------------------------------------------------===//
#include "runtime/cpu/kernels/families.h"

#include "runtime/bundle/kernel_families.h"
#include "runtime/cpu/row_ops.h"
#include "runtime/cpu/weight_dot.h"
#include "runtime/formats/quant.h"

namespace greta::cpu {
namespace {

/// Output columns per thread: at least a few row groups of weight_dot, so threads do not fight
/// over cache lines of the output.
constexpr uint64_t kMinColumnsPerThread = 32;
constexpr uint64_t kMinRowsPerThread = 4;

/// The optional rms_norm prologue of matmul, matmul_gate_up and matmul_qkv.
class NormPrologue {
public:
  explicit NormPrologue(const LaunchBinding &b) : k_(static_cast<uint64_t>(b.dim("k"))) {
    if (b.string("prologue") != bundle::kPrologueRmsNorm)
      return;
    weight_ = dequantizeWeight(b.weight("norm"));
    eps_ = static_cast<float>(b.number("eps"));
  }

  /// `x` itself, or its rows normalised into a scratch owned by the prologue.
  const float *apply(const float *x, uint64_t rows, ThreadPool &pool) {
    if (weight_.empty())
      return x;
    scratch_.resize(rows * k_);
    pool.parallelFor(rows, kMinRowsPerThread, [&](uint64_t begin, uint64_t end) {
      for (uint64_t s = begin; s < end; ++s)
        rmsNormRow(x + s * k_, weight_.data(), eps_, k_, scratch_.data() + s * k_);
    });
    return scratch_.data();
  }

private:
  uint64_t k_;
  std::vector<float> weight_;
  float eps_ = 0;
  std::vector<float> scratch_;
};

/// out[s, j] = x[s] · W[j] (+ addend[s, j]) for every row s of `args` and every weight row j,
/// the weight rows split across the pool's threads. `out` and `addend` have W's rows per row.
void projectRows(const WeightView &weight, const DotRowsArgs &args, float *out,
                 const float *addend, ThreadPool &pool) {
  const uint64_t n = weight.rows;
  pool.parallelFor(n, kMinColumnsPerThread, [&](uint64_t begin, uint64_t end) {
    DotRowsArgs range = args;
    range.out = out + begin;
    range.outStride = n;
    if (addend) {
      range.addend = addend + begin;
      range.addendStride = n;
    }
    dotWeightRows(weight, begin, end, range);
  });
}

class MatmulLaunch final : public CpuLaunch {
public:
  explicit MatmulLaunch(const LaunchBinding &b)
      : x_(b.buffer("x")), out_(b.buffer("out")), weight_(b.weight("weight")), prologue_(b),
        residual_(b.string("epilogue") == bundle::kEpilogueResidualAdd ? &b.buffer("residual")
                                                                       : nullptr) {}

  void run(const RunContext &context) override {
    const uint64_t rows = out_.rowsAt(context.seq);
    DotRowsArgs args;
    args.x = prologue_.apply(x_.lastRows(context.seq, rows), rows, *context.pool);
    args.xStride = weight_.rowLength;
    args.xRows = rows;
    projectRows(weight_, args, out_.lastRows(context.seq, rows),
                residual_ ? residual_->lastRows(context.seq, rows) : nullptr, *context.pool);
  }

private:
  CpuBuffer &x_;
  CpuBuffer &out_;
  WeightView weight_;
  NormPrologue prologue_;
  CpuBuffer *residual_;
};

/// cast_f16: out = binary16(prologue(x)), the input as the GPU's products on binary16 weights
/// read it (the CPU's own products read x and apply the prologue themselves).
class CastF16Launch final : public CpuLaunch {
public:
  explicit CastF16Launch(const LaunchBinding &b)
      : x_(b.buffer("x")), out_(b.buffer("out")), k_(static_cast<uint64_t>(b.dim("k"))),
        prologue_(b) {}

  void run(const RunContext &context) override {
    const uint64_t rows = out_.rowsAt(context.seq);
    const float *x = prologue_.apply(x_.lastRows(context.seq, rows), rows, *context.pool);
    uint16_t *out = out_.lastRowsF16(context.seq, rows);
    for (uint64_t i = 0; i < rows * k_; ++i)
      out[i] = floatToHalf(x[i]);
  }

private:
  CpuBuffer &x_;
  CpuBuffer &out_;
  uint64_t k_;
  NormPrologue prologue_;
};

class MatmulGateUpLaunch final : public CpuLaunch {
public:
  explicit MatmulGateUpLaunch(const LaunchBinding &b)
      : x_(b.buffer("x")), out_(b.buffer("out")), gate_(b.weight("gate")), up_(b.weight("up")),
        prologue_(b) {}

  void run(const RunContext &context) override {
    const uint64_t rows = out_.rowsAt(context.seq);
    const uint64_t k = gate_.rowLength;
    const uint64_t n = gate_.rows;
    const float *x = prologue_.apply(x_.lastRows(context.seq, rows), rows, *context.pool);
    float *out = out_.lastRows(context.seq, rows);
    context.pool->parallelFor(n, kMinColumnsPerThread, [&](uint64_t begin, uint64_t end) {
      const uint64_t width = end - begin;
      thread_local std::vector<float> up;
      up.resize(rows * width);
      // The gate goes straight to `out`, the up projection to a scratch; then combine in place.
      DotRowsArgs args;
      args.x = x;
      args.xStride = k;
      args.xRows = rows;
      args.out = out + begin;
      args.outStride = n;
      dotWeightRows(gate_, begin, end, args);
      args.out = up.data();
      args.outStride = width;
      dotWeightRows(up_, begin, end, args);
      for (uint64_t s = 0; s < rows; ++s)
        for (uint64_t j = 0; j < width; ++j) {
          float &value = out[s * n + begin + j];
          value = silu(value) * up[s * width + j];
        }
    });
  }

private:
  CpuBuffer &x_;
  CpuBuffer &out_;
  WeightView gate_;
  WeightView up_;
  NormPrologue prologue_;
};

class MatmulQKVLaunch final : public CpuLaunch {
public:
  explicit MatmulQKVLaunch(const LaunchBinding &b)
      : x_(b.buffer("x")), outs_{&b.buffer("q"), &b.buffer("k"), &b.buffer("v")},
        weights_{b.weight("q_weight"), b.weight("k_weight"), b.weight("v_weight")},
        prologue_(b), ropeKvAppend_(makeRopeKvAppend(b)) {}

  void run(const RunContext &context) override {
    const uint64_t rows = outs_[0]->rowsAt(context.seq);
    DotRowsArgs args;
    args.x = prologue_.apply(x_.lastRows(context.seq, rows), rows, *context.pool);
    args.xStride = weights_[0].rowLength;
    args.xRows = rows;
    for (size_t m = 0; m < kMatrices; ++m)
      projectRows(weights_[m], args, outs_[m]->lastRows(context.seq, rows), nullptr,
                  *context.pool);
    ropeKvAppend_->run(context);
  }

private:
  static constexpr size_t kMatrices = 3; // q, k, v
  CpuBuffer &x_;
  CpuBuffer *outs_[kMatrices];
  WeightView weights_[kMatrices];
  NormPrologue prologue_;
  std::unique_ptr<CpuLaunch> ropeKvAppend_; ///< reads q, k, v, positions and the caches by name
};

class LmHeadLaunch final : public CpuLaunch {
public:
  explicit LmHeadLaunch(const LaunchBinding &b)
      : x_(b.buffer("x")), out_(b.buffer("out")), weight_(b.weight("weight")) {}

  void run(const RunContext &context) override {
    DotRowsArgs args;
    args.x = x_.lastRows(context.seq, 1);
    args.xStride = weight_.rowLength;
    args.xRows = 1;
    projectRows(weight_, args, out_.lastRows(context.seq, 1), nullptr, *context.pool);
  }

private:
  CpuBuffer &x_;
  CpuBuffer &out_;
  WeightView weight_;
};

} // namespace

std::unique_ptr<CpuLaunch> makeMatmul(const LaunchBinding &binding) {
  return std::make_unique<MatmulLaunch>(binding);
}

std::unique_ptr<CpuLaunch> makeMatmulGateUp(const LaunchBinding &binding) {
  return std::make_unique<MatmulGateUpLaunch>(binding);
}

std::unique_ptr<CpuLaunch> makeMatmulQKV(const LaunchBinding &binding) {
  return std::make_unique<MatmulQKVLaunch>(binding);
}

std::unique_ptr<CpuLaunch> makeLmHead(const LaunchBinding &binding) {
  return std::make_unique<LmHeadLaunch>(binding);
}

std::unique_ptr<CpuLaunch> makeCastF16(const LaunchBinding &binding) {
  return std::make_unique<CastF16Launch>(binding);
}

} // namespace greta::cpu
