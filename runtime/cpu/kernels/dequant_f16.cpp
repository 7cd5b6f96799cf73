//===- dequant_f16.cpp - CPU family `dequant_f16` --------------------------===//
//
// out[n * k + i] = binary16(W[n][i]): the weight matrix decoded into a scratch buffer, row after
// row, rounded to nearest even as the GPU's conversion rounds. The CPU's own matmuls read the
// quantised weights (f32 products, no binary16 rounding), so nothing of the CPU plan reads what
// this writes; it runs for the kernel tests, which compare every GPU launch with it.
//
//===----------------------------------------------------------------------===//
#include "runtime/cpu/kernels/families.h"

#include "runtime/formats/quant.h"

#include <vector>

namespace greta::cpu {
namespace {

/// Rows per thread: decoding a 4096-value row is a few µs.
constexpr uint64_t kMinRowsPerThread = 8;

class DequantF16Launch final : public CpuLaunch {
public:
  explicit DequantF16Launch(const LaunchBinding &b)
      : weight_(b.weight("weight")), out_(b.buffer("out")) {}

  void run(const RunContext &context) override {
    const uint64_t k = weight_.rowLength;
    auto *out = reinterpret_cast<uint16_t *>(out_.bytes());
    context.pool->parallelFor(weight_.rows, kMinRowsPerThread, [&](uint64_t begin, uint64_t end) {
      std::vector<float> row(k);
      for (uint64_t n = begin; n < end; ++n) {
        dequantizeRow(weight_.type, weight_.row(n), row);
        for (uint64_t i = 0; i < k; ++i)
          out[n * k + i] = floatToHalf(row[i]);
      }
    });
  }

private:
  WeightView weight_;
  CpuBuffer &out_;
};

} // namespace

std::unique_ptr<CpuLaunch> makeDequantF16(const LaunchBinding &binding) {
  return std::make_unique<DequantF16Launch>(binding);
}

} // namespace greta::cpu
