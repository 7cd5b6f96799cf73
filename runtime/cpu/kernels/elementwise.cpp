//===- elementwise.cpp - CPU families `silu_mul` and `add` -----------------===//
//
// silu_mul: out = silu(gate) * up.   add: out = a + b.
// Each output element reads only the same element of its inputs, so out may alias an input.
//
//===----------------------------------------------------------------------===//
#include "runtime/cpu/kernels/families.h"

#include "runtime/cpu/row_ops.h"

namespace greta::cpu {
namespace {

/// Elements per thread: below this, waking a thread costs more than the work.
constexpr uint64_t kMinElementsPerThread = 16384;

/// out[i] = op(a[i], b[i]) over the launch's rows.
template <typename Op> class ElementwiseLaunch final : public CpuLaunch {
public:
  ElementwiseLaunch(const LaunchBinding &b, const char *first, const char *second)
      : a_(b.buffer(first)), b_(b.buffer(second)), out_(b.buffer("out")) {}

  void run(const RunContext &context) override {
    const uint64_t rows = out_.rowsAt(context.seq);
    const float *a = a_.lastRows(context.seq, rows);
    const float *b = b_.lastRows(context.seq, rows);
    float *out = out_.lastRows(context.seq, rows);
    context.pool->parallelFor(rows * out_.cols(), kMinElementsPerThread,
                              [&](uint64_t begin, uint64_t end) {
                                for (uint64_t i = begin; i < end; ++i)
                                  out[i] = Op{}(a[i], b[i]);
                              });
  }

private:
  CpuBuffer &a_;
  CpuBuffer &b_;
  CpuBuffer &out_;
};

struct SiluMul {
  float operator()(float gate, float up) const { return silu(gate) * up; }
};
struct Add {
  float operator()(float a, float b) const { return a + b; }
};

} // namespace

std::unique_ptr<CpuLaunch> makeSiluMul(const LaunchBinding &binding) {
  return std::make_unique<ElementwiseLaunch<SiluMul>>(binding, "gate", "up");
}

std::unique_ptr<CpuLaunch> makeAdd(const LaunchBinding &binding) {
  return std::make_unique<ElementwiseLaunch<Add>>(binding, "a", "b");
}

} // namespace greta::cpu
