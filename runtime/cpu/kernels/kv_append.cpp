//===- kv_append.cpp - CPU family `kv_append` ------------------------------===//
//
// cache[positions[s]] = row s, for the key and the value cache, in the caches' dtype (f32, or
// f16 rounded to nearest even). Positions are checked against the cache's rows (the context
// chosen at run time).
//
//===----------------------------------------------------------------------===//
#include "runtime/cpu/kernels/families.h"

#include "runtime/cpu/row_ops.h"

namespace greta::cpu {
namespace {

class KvAppendLaunch final : public CpuLaunch {
public:
  explicit KvAppendLaunch(const LaunchBinding &b)
      : k_(b.buffer("k")), v_(b.buffer("v")), positions_(b.buffer("positions")),
        kCache_(b.buffer("k_cache")), vCache_(b.buffer("v_cache")), label_(b.label()) {}

  void run(const RunContext &context) override {
    const uint64_t rows = k_.rowsAt(context.seq);
    appendKvRows(k_.lastRows(context.seq, rows), v_.lastRows(context.seq, rows),
                 positions_.lastRowsI32(context.seq, rows), rows, kCache_, vCache_, label_);
  }

private:
  CpuBuffer &k_;
  CpuBuffer &v_;
  CpuBuffer &positions_;
  CpuBuffer &kCache_;
  CpuBuffer &vCache_;
  std::string label_;
};

} // namespace

std::unique_ptr<CpuLaunch> makeKvAppend(const LaunchBinding &binding) {
  return std::make_unique<KvAppendLaunch>(binding);
}

} // namespace greta::cpu
