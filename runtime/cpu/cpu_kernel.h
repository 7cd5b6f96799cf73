//===- cpu_kernel.h - How the CPU backend runs one launch -------------------===//
//
// A launch of the manifest becomes a CpuLaunch when the program is prepared: the family's
// factory reads the kernel's params and binds its arguments to buffers and weights once, so
// running a phase is only a loop over prepared objects. The manifest was validated against the
// family table (kernel_families.h), so factories may rely on every argument being present with
// the promised shape; they still check what only the run time knows (token ids, positions).
//
// Thread-safety: a CpuLaunch runs on the program's thread; it splits its own work across the
// pool (thread_pool.h).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/bundle/manifest.h"
#include "runtime/cpu/thread_pool.h"
#include "runtime/cpu/weight_view.h"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace greta::cpu {

/// The storage of one manifest buffer, sized for the largest phase it serves.
class CpuBuffer {
public:
  CpuBuffer(const bundle::BufferSpec &spec, uint64_t rowsAllocated, std::vector<float> storage)
      : spec_(&spec), rowsAllocated_(rowsAllocated), storage_(std::move(storage)) {}

  const bundle::BufferSpec &spec() const { return *spec_; }
  uint64_t cols() const { return spec_->cols; }
  uint64_t rowsAllocated() const { return rowsAllocated_; }
  /// Rows the buffer holds in a phase run with `seq` tokens.
  uint64_t rowsAt(uint64_t seq) const;

  float *f32() { return storage_.data(); }
  int32_t *i32() { return reinterpret_cast<int32_t *>(storage_.data()); }
  uint8_t *bytes() { return reinterpret_cast<uint8_t *>(storage_.data()); }
  /// A binary16 buffer's values (cast_f16's rows, an f16 KV cache).
  uint16_t *f16() { return reinterpret_cast<uint16_t *>(storage_.data()); }
  /// The last `rows` rows of the buffer's `rowsAt(seq)` (f32).
  float *lastRows(uint64_t seq, uint64_t rows);
  const int32_t *lastRowsI32(uint64_t seq, uint64_t rows);
  /// As lastRows, for a binary16 buffer (cast_f16's).
  uint16_t *lastRowsF16(uint64_t seq, uint64_t rows);

private:
  /// The element index of the last `rows` rows at `seq`; throws when the buffer has fewer.
  uint64_t lastRowsOffset(uint64_t seq, uint64_t rows) const;

  const bundle::BufferSpec *spec_;
  uint64_t rowsAllocated_;
  std::vector<float> storage_; // f32 storage also holds i32, u8 and f16 buffers (4-byte aligned)
};

/// What a prepared launch needs at run time.
struct RunContext {
  uint64_t seq = 1; ///< the phase's token count
  ThreadPool *pool = nullptr;
};

/// Finds a weight named by a kernel parameter (RoPE `freqs`); the program resolves names in its
/// bundle, tests in their own tables.
using WeightResolver = std::function<WeightView(std::string_view name)>;

/// A launch with its arguments resolved, handed to a family's factory.
class LaunchBinding {
public:
  LaunchBinding(const bundle::KernelSpec &kernel, std::string label, WeightResolver resolveWeight)
      : kernel_(kernel), label_(std::move(label)), resolveWeight_(std::move(resolveWeight)) {}

  const bundle::KernelSpec &kernel() const { return kernel_; }
  /// "phases.decode.launches[3] (kernel 'k', family matmul)", for run-time errors.
  const std::string &label() const { return label_; }

  void bindBuffer(const std::string &arg, CpuBuffer *buffer) { buffers_[arg] = buffer; }
  void bindWeight(const std::string &arg, WeightView weight) { weights_[arg] = std::move(weight); }
  bool has(const std::string &arg) const {
    return buffers_.count(arg) != 0 || weights_.count(arg) != 0;
  }
  /// The buffer/weight bound to `arg`; throws greta::Error naming the launch when absent.
  CpuBuffer &buffer(const std::string &arg) const;
  const WeightView &weight(const std::string &arg) const;

  int64_t dim(std::string_view param) const;
  double number(std::string_view param) const;
  const std::string &string(std::string_view param) const;
  bool flag(std::string_view param) const;
  /// The `freqs` param's divisors (RoPE scaling), or an empty vector for none.
  std::vector<float> ropeFreqs() const;

private:
  const bundle::KernelSpec &kernel_;
  std::string label_;
  WeightResolver resolveWeight_;
  std::map<std::string, CpuBuffer *> buffers_;
  std::map<std::string, WeightView> weights_;
};

class CpuLaunch {
public:
  virtual ~CpuLaunch() = default;
  virtual void run(const RunContext &context) = 0;
};

using CpuLaunchFactory = std::unique_ptr<CpuLaunch> (*)(const LaunchBinding &binding);

} // namespace greta::cpu
