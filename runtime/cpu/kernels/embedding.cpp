//===- embedding.cpp - CPU family `embedding` ------------------------------===//
//
// out[s] = dequant(table row tokens[s]). Token ids come from the caller, so each is checked
// against the table's rows before use.
//
//===----------------------------------------------------------------------===//
#include "runtime/cpu/kernels/families.h"

#include "runtime/formats/quant.h"
#include "runtime/support/error.h"

namespace greta::cpu {
namespace {

/// Rows per thread: decoding one embedding row is ~1 µs of work.
constexpr uint64_t kMinRowsPerThread = 16;

class EmbeddingLaunch final : public CpuLaunch {
public:
  explicit EmbeddingLaunch(const LaunchBinding &b)
      : tokens_(b.buffer("tokens")), out_(b.buffer("out")), table_(b.weight("table")),
        label_(b.label()) {}

  void run(const RunContext &context) override {
    const uint64_t rows = out_.rowsAt(context.seq);
    const int32_t *ids = tokens_.lastRowsI32(context.seq, rows);
    float *out = out_.lastRows(context.seq, rows);
    for (uint64_t s = 0; s < rows; ++s)
      if (ids[s] < 0 || static_cast<uint64_t>(ids[s]) >= table_.rows)
        fail("{}: token id {} (row {}) is outside the vocabulary of {} tokens of '{}'", label_,
             ids[s], s, table_.rows, table_.name);
    const uint64_t dim = table_.rowLength;
    context.pool->parallelFor(rows, kMinRowsPerThread, [&](uint64_t begin, uint64_t end) {
      for (uint64_t s = begin; s < end; ++s)
        dequantizeRow(table_.type, table_.row(static_cast<uint64_t>(ids[s])),
                      {out + s * dim, static_cast<size_t>(dim)});
    });
  }

private:
  CpuBuffer &tokens_;
  CpuBuffer &out_;
  WeightView table_;
  std::string label_;
};

} // namespace

std::unique_ptr<CpuLaunch> makeEmbedding(const LaunchBinding &binding) {
  return std::make_unique<EmbeddingLaunch>(binding);
}

} // namespace greta::cpu
