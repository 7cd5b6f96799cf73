#include "runtime/synth/synth_model.h"

#include "runtime/formats/gguf.h"
#include "runtime/synth/tensor_prefetcher.h"
#include "runtime/synth/tensor_synth.h"

#include <algorithm>
#include <thread>

namespace greta::synth {
namespace {

// Finished tensors held ahead of the writer. Generation outruns the disk, so two suffice to keep
// it busy; the byte limit bounds memory (an 8B model's output matrix is 431 MB in Q6_K).
constexpr size_t kLookaheadTensors = 2;
constexpr uint64_t kLookaheadBytes = 1ull << 30;

/// A writer holding the plan's metadata and one filler per tensor; `fill(index, dst)` makes
/// tensor `index`.
GgufWriter makeWriter(const ModelPlan &plan,
                      const std::function<void(size_t, std::span<uint8_t>)> &fill) {
  GgufWriter writer;
  for (const auto &[key, value] : plan.metadata)
    writer.add(key, value);
  for (size_t index = 0; index < plan.tensors.size(); ++index) {
    const PlannedTensor &tensor = plan.tensors[index];
    writer.addTensor(tensor.name, tensor.type, tensor.dims,
                     [fill, index](std::span<uint8_t> dst) { fill(index, dst); });
  }
  return writer;
}

} // namespace

unsigned resolveThreads(unsigned threads) {
  return threads != 0 ? threads : std::max(1u, std::thread::hardware_concurrency());
}

ModelPlan writeModel(const SynthOptions &options, const std::string &path,
                     const SynthProgress &progress) {
  ModelPlan plan = planModel(options);
  TensorPrefetcher prefetcher(plan, options.seed, resolveThreads(options.threads),
                              kLookaheadTensors, kLookaheadBytes);
  const GgufWriter writer =
      makeWriter(plan, [&](size_t index, std::span<uint8_t> dst) { prefetcher.take(index, dst); });
  writer.write(path, progress);
  return plan;
}

std::vector<uint8_t> synthesizeToBytes(const SynthOptions &options) {
  const ModelPlan plan = planModel(options);
  const unsigned threads = resolveThreads(options.threads);
  const GgufWriter writer = makeWriter(plan, [&](size_t index, std::span<uint8_t> dst) {
    synthesizeTensor(plan.tensors[index], options.seed, threads, dst);
  });
  return writer.toBytes();
}

} // namespace greta::synth
