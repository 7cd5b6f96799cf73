// Every emitted kernel against the CPU backend, one launch at a time (label `gpu`).
//
// The kernels come from bundles compiled beforehand (the GPU machine has no MLIR): the tiny
// models of scripts/make-gpu-bundles.sh (GRETA_GPU_BUNDLES/NAME.greta) and the bundles of
// scripts/make-kernel-test-bundles.sh (GRETA_GPU_BUNDLES/kernel-tests/NAME.greta), which cover
// every family the compiler emits x every weight type greta-synth writes (F32, F16, Q8_0, Q4_K,
// Q6_K, F16 rows), both routes of each matmul in both phases, and ragged shapes (dim 160 and
// 192, ffn 352, vocab 601, head_dim 32/64/128). For each bundle, phase, token count (prefill:
// kPrefillSeqs, decode: 1) and launch:
//   1. every buffer the launch reads gets fresh random values of realistic magnitude (seeded;
//      KV caches, token ids and positions too), the same bytes on both backends;
//   2. every buffer it only writes is poisoned (0xFF bytes: NaN), so an element the GPU should
//      write but does not stays NaN and fails, and an element written out of bounds is caught
//      too (every byte of every written buffer is compared, not just the rows the launch owns);
//      A binary16 scratch buffer a gemm reads in place of its weight (weight_f16, gate_f16,
//      up_f16) holds that weight as dequant_f16 leaves it (binary16 of the CPU's decoding), and
//      its binary16 input (x_f16) holds x as cast_f16 leaves it (the kernel's RMSNorm prologue
//      applied, then rounded), so the gemm multiplies what the CPU does; a scratch buffer's
//      tail past the matrix stays poisoned;
//   3. the launch runs alone on the GPU (HipExecutor::runLaunch) and on the CPU
//      (cpu::CpuProgram::runLaunch), and every element of every buffer it writes is compared.
//
// A failure names the bundle, phase, token count, launch index, kernel, buffer, element (row,
// col), both values, the tolerance and the seed: GRETA_KERNEL_TEST_SEED=<seed> reruns the same
// inputs (the default seed is fresh each run). Skips where no GPU or no bundles are found.
//
// Tolerances. An element passes when its bits equal the CPU's, or when both are finite and
//   |gpu - cpu| <= tol * (|cpu| + rms(cpu buffer)).
// The rms term makes the bound relative to the buffer's scale, so an output that cancels to
// near zero (a dot product of random-sign terms) is held to the error its inputs' size allows.
// `tol` is per compute dtype, the kernel's params.dtype_a / dtype_b (f32 for families without
// them); weights are dequantised exactly on both sides (the same blocks, the same f32 formula),
// so the weight's storage type does not widen the bound unless it is computed in a narrower type:
//   kF32Tolerance  2e-4  f32 arithmetic on both sides; they differ in summation order (split-K,
//                        tiles), FMA contraction and the libm vs CUDA expf/sinf/cosf (softmax,
//                        SiLU, RoPE angles up to the context length, ~1e-5 rad). A K = 768 dot
//                        product in f32 has a relative error of ~sqrt(K) * 6e-8 ~ 2e-6; 2e-4
//                        leaves two orders of margin and still catches a wrong block, scale or
//                        row (errors of O(1)).
//   kF16Tolerance  1e-2  operands rounded to fp16 for the matrix units (unit roundoff 4.9e-4):
//                        a dot product of random-sign terms then errs by ~u * rms(result); 1e-2
//                        is the bound for fp16 paths.
//                        A binary16 buffer (dequant_f16's scratch) is compared as floats with
//                        this bound: both sides round the same f32 value, but it may differ in
//                        its last bit (FMA contraction), and a tie then rounds apart by an ulp.
//   kBf16Tolerance 8e-2  operands rounded to bf16 (unit roundoff 3.9e-3), the same reasoning.
//   kI16Tolerance  1e-3  input quantised to int16 per 32 values (gemv decoders with integer dot
//                        products, dtype_a i16): a value errs by up to 2^-16 of its group's
//                        largest, at most sqrt(32) times the input's rms, and the products
//                        carry it with weights centred on their block offset (Q4_K: q - 8);
//                        a dot product of random-sign terms errs by ~5e-5 of its size at worst,
//                        ~2e-4 at the largest of ~10^5 elements, and the gate_up product adds
//                        two such errors. Measured: 2.7e-4 before centring (2e-4 failed).
// KV caches: the rows the run's positions name (the rows a kv_append, rope_kv_append or
// matmul_qkv launch writes) are compared as values with the launch's tolerance; every other row
// holds the same input on both sides and must keep it bit for bit. A binary16 cache
// (params.kv_dtype f16) adds kF16StorageTolerance = 2^-10 to the bound: each side rounds its
// own f32 value once (to nearest even), and two f32 values a tolerance apart can round to
// adjacent binary16 values, one binary16 ulp apart: up to 2^-10 of the value (half an ulp,
// 2^-11, bounds one rounding; the two sides' roundings can fall on either side of a midpoint).
// Audit records: the digest, min, max, count, top-2 ids and logits are functions of the input
// bits alone and must be identical; mean and sum of squares are sums (double on the CPU) and
// must agree within kAuditSumTolerance = 1e-5 relative to sum(x^2) (f32 accumulation of a few
// thousand terms errs by ~1e-6).

#include "runtime/bundle/audit_record.h"
#include "runtime/bundle/bundle.h"
#include "runtime/bundle/kernel_families.h"
#include "runtime/bundle/manifest_validator.h"
#include "runtime/cpu/cpu_program.h"
#include "runtime/cpu/row_ops.h"
#include "runtime/formats/quant.h"
#include "runtime/hip/hip_executor.h"
#include "runtime/hip/hip_platform.h"
#include "runtime/support/fnv1a.h"
#include "test/unit/hip/hip_test_support.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace greta::hip {
namespace {

constexpr uint64_t kContext = 300;  // KV rows: not a multiple of any attention tile
constexpr uint64_t kMaxBatch = 67;  // one GEMM row tile (64) and a ragged 3
constexpr uint64_t kPrefillSeqs[] = {1, 7, 64, 67};
constexpr double kF32Tolerance = 2e-4;
constexpr double kF16Tolerance = 1e-2;
constexpr double kBf16Tolerance = 8e-2;
constexpr double kI16Tolerance = 1e-3;
constexpr double kAuditSumTolerance = 1e-5;
/// Added to a launch's tolerance for the rows it stores in a binary16 KV cache (file comment).
constexpr double kF16StorageTolerance = 0x1p-10;
/// Mismatches reported per buffer (the first few; the count says how many there were).
constexpr int kReportedMismatches = 3;

/// The tolerance of compute dtype `dtype` (a kernel's dtype_a / dtype_b), or nullopt if unknown.
std::optional<double> toleranceOf(std::string_view dtype) {
  if (dtype == "f32")
    return kF32Tolerance;
  if (dtype == "f16")
    return kF16Tolerance;
  if (dtype == "bf16")
    return kBf16Tolerance;
  if (dtype == "i16")
    return kI16Tolerance;
  return std::nullopt;
}

/// What one launch reads and writes, by buffer (an aliased buffer is both).
struct BufferUse {
  const bundle::BufferSpec *spec = nullptr;
  bool read = false;
  bool written = false;
};

std::map<std::string, BufferUse> buffersOf(const bundle::Manifest &manifest,
                                           const bundle::Launch &launch,
                                           const bundle::FamilySpec &family) {
  std::map<std::string, BufferUse> uses;
  for (const bundle::ArgSpec &arg : family.args) {
    auto it = launch.args.find(std::string(arg.name));
    if (arg.isWeight || it == launch.args.end())
      continue;
    BufferUse &use = uses[it->second];
    use.spec = manifest.findBuffer(it->second);
    use.read |= arg.access != bundle::Access::Write;
    use.written |= arg.access != bundle::Access::Read;
  }
  return uses;
}

/// The launch's inputs: random values of the magnitudes a model's buffers have.
class InputMaker {
public:
  InputMaker(uint64_t seed, const bundle::ModelParams &model, uint64_t seq)
      : rng_(seed), model_(model) {
    // Positions start anywhere the run still fits in the context.
    firstPosition_ = std::uniform_int_distribution<uint64_t>(0, kContext - seq)(rng_);
  }

  std::vector<uint8_t> make(const bundle::BufferSpec &spec, uint64_t rows, bool read) {
    const uint64_t count = rows * spec.cols;
    std::vector<uint8_t> bytes(count * bundle::bytesOf(spec.dtype), 0xff); // poison
    if (spec.name == bundle::kTokensBuffer) {
      std::uniform_int_distribution<int32_t> id(0, static_cast<int32_t>(model_.vocab) - 1);
      fill<int32_t>(bytes, [&](uint64_t) { return id(rng_); });
    } else if (spec.name == bundle::kPositionsBuffer) {
      // Rows past the run hold valid positions too (no kernel reads them).
      fill<int32_t>(bytes, [&](uint64_t row) {
        return static_cast<int32_t>(std::min(firstPosition_ + row, kContext - 1));
      });
    } else if (spec.kind == bundle::BufferKind::Kv) {
      // Keys and values after their projections: unit scale, in the cache's dtype. Filled even
      // when the launch only writes the cache (kv_append), so the rows it must not touch compare
      // bit for bit.
      std::normal_distribution<float> normal(0.0f, 1.0f);
      if (spec.dtype == bundle::BufferDType::F16)
        fill<uint16_t>(bytes, [&](uint64_t) { return floatToHalf(normal(rng_)); });
      else
        fill<float>(bytes, [&](uint64_t) { return normal(rng_); });
    } else if (read && spec.dtype == bundle::BufferDType::F32) {
      // Activations: unit normal with a per-row scale in [1/4, 4], as the residual stream's
      // rows differ in size (RMSNorm must normalise each on its own).
      std::normal_distribution<float> normal(0.0f, 1.0f);
      std::uniform_real_distribution<float> logScale(-std::log(4.0f), std::log(4.0f));
      float scale = 1;
      fill<float>(bytes, [&](uint64_t i) {
        if (i % spec.cols == 0)
          scale = std::exp(logScale(rng_));
        return scale * normal(rng_);
      });
    }
    return bytes;
  }

  /// The position of the run's first token: its tokens take positions [firstPosition(),
  /// firstPosition() + seq), the KV cache rows a launch of the run writes.
  uint64_t firstPosition() const { return firstPosition_; }

private:
  template <typename T, typename F> void fill(std::vector<uint8_t> &bytes, F value) {
    const uint64_t count = bytes.size() / sizeof(T);
    for (uint64_t i = 0; i < count; ++i) {
      const T v = value(i);
      std::memcpy(bytes.data() + i * sizeof(T), &v, sizeof(T));
    }
  }

  std::mt19937_64 rng_;
  const bundle::ModelParams &model_;
  uint64_t firstPosition_ = 0;
};

/// Rows allocated for `spec` (the executors' rule: seq buffers for kMaxBatch tokens).
uint64_t rowsAllocated(const bundle::BufferSpec &spec) {
  switch (spec.rows.kind) {
  case bundle::RowExtent::Kind::Seq:
    return kMaxBatch;
  case bundle::RowExtent::Kind::Last:
    return 1;
  case bundle::RowExtent::Kind::Fixed:
    return spec.rows.count;
  case bundle::RowExtent::Kind::Context:
    return kContext;
  }
  return 0;
}

/// The bytes of a binary16 buffer as the bytes of the f32 values it holds.
std::vector<uint8_t> halvesAsFloatBytes(std::span<const uint8_t> bytes) {
  std::vector<uint8_t> out(bytes.size() / sizeof(uint16_t) * sizeof(float));
  for (size_t i = 0; i < bytes.size() / sizeof(uint16_t); ++i) {
    uint16_t half;
    std::memcpy(&half, bytes.data() + i * sizeof half, sizeof half);
    const float value = halfToFloat(half);
    std::memcpy(out.data() + i * sizeof value, &value, sizeof value);
  }
  return out;
}

/// Writes `weight` as binary16, row after row, at the start of `bytes` (dequant_f16's result).
void writeHalves(const cpu::WeightView &weight, std::span<uint8_t> bytes) {
  std::vector<float> row(weight.rowLength);
  ASSERT_LE(weight.rows * weight.rowLength * sizeof(uint16_t), bytes.size()) << weight.name;
  for (uint64_t n = 0; n < weight.rows; ++n) {
    dequantizeRow(weight.type, weight.row(n), row);
    for (uint64_t k = 0; k < weight.rowLength; ++k) {
      const uint16_t half = floatToHalf(row[k]);
      std::memcpy(bytes.data() + (n * weight.rowLength + k) * sizeof half, &half, sizeof half);
    }
  }
}

std::vector<float> asFloats(std::span<const uint8_t> bytes) {
  std::vector<float> values(bytes.size() / sizeof(float));
  std::memcpy(values.data(), bytes.data(), values.size() * sizeof(float));
  return values;
}

/// Writes the f32 rows of `x` (`cols` values each) as binary16 rows into `out`, with the
/// RMSNorm prologue (`gamma`, `eps`) applied when `gamma` is given: cast_f16's result, the norm
/// computed by the CPU backend's own rmsNormRow.
void castRowsToHalves(std::span<const uint8_t> x, uint64_t cols,
                      const std::optional<cpu::WeightView> &gamma, float eps,
                      std::span<uint8_t> out) {
  std::vector<float> g;
  if (gamma) {
    g.resize(cols);
    dequantizeRow(gamma->type, gamma->row(0), g);
  }
  std::vector<float> values = asFloats(x);
  ASSERT_EQ(values.size() * sizeof(uint16_t), out.size());
  for (uint64_t row = 0; row < values.size() / cols; ++row) {
    float *v = values.data() + row * cols;
    if (gamma)
      cpu::rmsNormRow(v, g.data(), eps, cols, v);
    for (uint64_t i = 0; i < cols; ++i) {
      const uint16_t half = floatToHalf(v[i]);
      std::memcpy(out.data() + (row * cols + i) * sizeof half, &half, sizeof half);
    }
  }
}

/// Compares an f32 buffer element by element; returns "" or the mismatches, described. The
/// bytes start at row `firstRow` of the buffer (for the report).
std::string compareFloats(std::span<const uint8_t> gpuBytes, std::span<const uint8_t> cpuBytes,
                          uint64_t cols, double tolerance, uint64_t firstRow = 0) {
  const std::vector<float> got = asFloats(gpuBytes), want = asFloats(cpuBytes);
  double sumSquares = 0;
  size_t finite = 0;
  for (float w : want)
    if (std::isfinite(w)) {
      sumSquares += static_cast<double>(w) * w;
      ++finite;
    }
  const double rms = finite ? std::sqrt(sumSquares / static_cast<double>(finite)) : 0.0;
  std::string report;
  size_t mismatches = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    const float g = got[i], w = want[i];
    if (std::memcmp(&g, &w, sizeof g) == 0)
      continue;
    const double bound = tolerance * (std::fabs(w) + rms);
    const bool ok =
        std::isfinite(g) && std::isfinite(w) && std::fabs(static_cast<double>(g) - w) <= bound;
    if (ok)
      continue;
    if (mismatches++ < kReportedMismatches)
      report += fmt::format("\n  element {} (row {}, col {}): gpu {:.9g} vs cpu {:.9g}, |diff| "
                            "{:.3g} > {:.3g} = {:g} x (|cpu| + rms {:.4g})",
                            firstRow * cols + i, firstRow + i / cols, i % cols, g, w,
                            std::fabs(static_cast<double>(g) - w),
                            bound, tolerance, rms);
  }
  if (mismatches)
    report += fmt::format("\n  {} of {} elements differ", mismatches, want.size());
  return report;
}

/// Compares a KV cache (see the file comment): rows [firstRow, firstRow + rows), the ones the
/// launch writes, as values; every other row bit for bit.
std::string compareKvCache(std::span<const uint8_t> gpuBytes, std::span<const uint8_t> cpuBytes,
                           const bundle::BufferSpec &spec, uint64_t firstRow, uint64_t rows,
                           double tolerance) {
  const uint64_t rowBytes = spec.cols * bundle::bytesOf(spec.dtype);
  const uint64_t cacheRows = cpuBytes.size() / rowBytes;
  std::string report;
  size_t changed = 0;
  for (uint64_t row = 0; row < cacheRows; ++row) {
    if (row >= firstRow && row < firstRow + rows)
      continue;
    if (!std::equal(cpuBytes.begin() + row * rowBytes, cpuBytes.begin() + (row + 1) * rowBytes,
                    gpuBytes.begin() + row * rowBytes) &&
        changed++ < kReportedMismatches)
      report += fmt::format("\n  row {} changed, but no position of the run names it", row);
  }
  if (changed)
    report += fmt::format("\n  {} of the {} rows the launch must not touch changed", changed,
                          cacheRows - rows);
  const std::span<const uint8_t> gotRows = gpuBytes.subspan(firstRow * rowBytes, rows * rowBytes);
  const std::span<const uint8_t> wantRows = cpuBytes.subspan(firstRow * rowBytes, rows * rowBytes);
  if (spec.dtype == bundle::BufferDType::F16)
    return report + compareFloats(halvesAsFloatBytes(gotRows), halvesAsFloatBytes(wantRows),
                                  spec.cols, tolerance + kF16StorageTolerance, firstRow);
  return report + compareFloats(gotRows, wantRows, spec.cols, tolerance, firstRow);
}

/// Compares two audit records (see the file comment for which fields must be identical).
std::string compareAuditRecords(std::span<const uint8_t> gpuBytes,
                                std::span<const uint8_t> cpuBytes) {
  bundle::AuditStatsRecord got, want;
  std::memcpy(&got, gpuBytes.data(), sizeof got);
  std::memcpy(&want, cpuBytes.data(), sizeof want);
  std::string report;
  auto exact = [&](const char *field, auto g, auto w) {
    if (!(g == w))
      report += fmt::format("\n  record field {}: gpu {} vs cpu {}", field, g, w);
  };
  exact("hash", got.hash, want.hash);
  exact("min", got.min, want.min);
  exact("max", got.max, want.max);
  exact("count", got.count, want.count);
  exact("is_logits", got.isLogits, want.isLogits);
  if (want.isLogits) {
    exact("top1_id", got.top1Id, want.top1Id);
    exact("top1_logit", got.top1Logit, want.top1Logit);
    exact("top2_id", got.top2Id, want.top2Id);
    exact("top2_logit", got.top2Logit, want.top2Logit);
    exact("gap", got.gap, want.gap);
  }
  const double scale = std::max(want.sumSquares, 1e-30);
  if (!(std::fabs(got.sumSquares - want.sumSquares) <= kAuditSumTolerance * scale))
    report += fmt::format("\n  record field sum_squares: gpu {:.9g} vs cpu {:.9g}",
                          got.sumSquares, want.sumSquares);
  // mean = sum / n; |sum| <= sqrt(n * sumSquares), so this bound is the sum's relative one.
  const double meanBound =
      kAuditSumTolerance * std::sqrt(scale / std::max<double>(want.count, 1));
  if (!(std::fabs(static_cast<double>(got.mean) - want.mean) <= meanBound))
    report += fmt::format("\n  record field mean: gpu {:.9g} vs cpu {:.9g} (bound {:.3g})",
                          got.mean, want.mean, meanBound);
  return report;
}

struct KernelBundle {
  std::string name;
  std::unique_ptr<bundle::Bundle> bundle;
};

class KernelGpuTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    if (platform_ || !skipReason_.empty())
      return;
    if (!test::openSuitePlatform(platform_, skipReason_))
      return;
    std::string whyNoTiny, whyNoKernelTests;
    for (const auto &path : test::gpuBundlePaths("", whyNoTiny))
      bundles_.push_back({path.stem().string(), bundle::Bundle::open(path.string())});
    for (const auto &path : test::gpuBundlePaths("kernel-tests", whyNoKernelTests))
      bundles_.push_back(
          {"kernel-tests/" + path.stem().string(), bundle::Bundle::open(path.string())});
    if (bundles_.empty()) {
      skipReason_ = whyNoTiny + "; " + whyNoKernelTests +
                    " (scripts/make-kernel-test-bundles.sh makes kernel-tests/)";
      return;
    }
    if (const char *given = std::getenv("GRETA_KERNEL_TEST_SEED"); given && *given)
      seed_ = std::strtoull(given, nullptr, 10);
    else
      seed_ = std::random_device{}() | (uint64_t{std::random_device{}()} << 32);
    std::cout << fmt::format("GRETA_GPU kernel tests: {} bundles, seed {} "
                             "(GRETA_KERNEL_TEST_SEED={} reruns these inputs)\n",
                             bundles_.size(), seed_, seed_);
  }

  static void TearDownTestSuite() { bundles_.clear(); }

  void SetUp() override {
    if (!skipReason_.empty())
      GTEST_SKIP() << skipReason_;
    GRETA_HIP_CHECK(*platform_->api, hipSetDevice(platform_->device.ordinal));
  }

  /// The seed of one launch's inputs: the run's seed and the launch's identity.
  static uint64_t launchSeed(const std::string &label) {
    Fnv1a64 hash;
    hash.update(seed_);
    hash.update(std::span(reinterpret_cast<const uint8_t *>(label.data()), label.size()));
    return hash.value();
  }

  static inline std::optional<HipPlatform> platform_;
  static inline std::string skipReason_;
  static inline std::vector<KernelBundle> bundles_;
  static inline uint64_t seed_ = 0;
};

std::span<const uint8_t> bytesOf(const std::vector<float> &values) {
  return {reinterpret_cast<const uint8_t *>(values.data()), values.size() * sizeof(float)};
}

// Tests the comparisons themselves (no GPU needed): an element left poisoned (NaN), a wrong
// element and a changed audit field fail; summation-order noise and identical poison pass.
TEST(KernelComparisonTest, CatchesUnwrittenAndWrongElements) {
  const float poison = std::bit_cast<float>(0xffffffffu);
  const std::vector<float> want = {1.0f, -2.0f, 0.5f, poison};
  std::vector<float> got = {1.0f + 1e-6f, -2.0f, 0.5f, poison};
  EXPECT_EQ(compareFloats(bytesOf(got), bytesOf(want), 2, kF32Tolerance), "");
  got[1] = poison; // never written
  EXPECT_NE(compareFloats(bytesOf(got), bytesOf(want), 2, kF32Tolerance), "");
  got[1] = -2.01f; // wrong by 0.5 %: passes the fp16 bound, fails the f32 one
  EXPECT_NE(compareFloats(bytesOf(got), bytesOf(want), 2, kF32Tolerance), "");
  EXPECT_EQ(compareFloats(bytesOf(got), bytesOf(want), 2, kF16Tolerance), "");
  got[1] = -2.0f;
  got[3] = 0.0f; // written where the CPU wrote nothing
  EXPECT_NE(compareFloats(bytesOf(got), bytesOf(want), 2, kF32Tolerance), "");

  bundle::AuditStatsRecord a;
  a.count = 4;
  a.sumSquares = 5.25;
  a.mean = -0.125f;
  a.isLogits = 1;
  a.top1Id = 0;
  bundle::AuditStatsRecord b = a;
  auto recordBytes = [](const bundle::AuditStatsRecord &r) {
    return std::span(reinterpret_cast<const uint8_t *>(&r), sizeof r);
  };
  EXPECT_EQ(compareAuditRecords(recordBytes(b), recordBytes(a)), "");
  b.top1Id = 2;
  EXPECT_NE(compareAuditRecords(recordBytes(b), recordBytes(a)), "");
}

// Tests the KV cache comparison (no GPU needed) on a binary16 cache of 3 rows, the run's position
// being row 1: there a value may differ by one binary16 ulp (the two sides' roundings of nearby
// f32 values), not by 1 %; rows 0 and 2 must keep their bits, one ulp is already a change.
TEST(KernelComparisonTest, KvCacheRowsOutsideThePositionsKeepTheirBits) {
  const bundle::BufferSpec spec{"kv.0.k", bundle::BufferKind::Kv, bundle::BufferDType::F16,
                                bundle::RowExtent::context(), 4};
  std::vector<uint16_t> want;
  for (int row = 0; row < 3; ++row)
    for (float value : {1.0f, -0.5f, 2.0f, 0.25f})
      want.push_back(floatToHalf(value));
  auto compare = [&](const std::vector<uint16_t> &got) {
    auto bytes = [](const std::vector<uint16_t> &halves) {
      return std::span(reinterpret_cast<const uint8_t *>(halves.data()), halves.size() * 2);
    };
    return compareKvCache(bytes(got), bytes(want), spec, /*firstRow=*/1, /*rows=*/1,
                          kF32Tolerance);
  };
  std::vector<uint16_t> got = want;
  EXPECT_EQ(compare(got), "");
  got[4 + 2] = floatToHalf(2.0f) + 1; // one ulp up in the written row
  EXPECT_EQ(compare(got), "");
  got[4 + 2] = floatToHalf(2.02f); // 1 % off
  EXPECT_NE(compare(got), "");
  got[4 + 2] = want[4 + 2];
  got[2] = floatToHalf(2.0f) + 1; // one ulp in a row no position names
  EXPECT_NE(compare(got), "");
}

// Tests every launch of every phase of every bundle, alone, against the CPU backend's same
// launch on the same random inputs, at several token counts.
TEST_F(KernelGpuTest, EveryLaunchMatchesCpuBackend) {
  HipExecutorOptions hipOptions;
  hipOptions.poison = true;
  hipOptions.useGraph = false;
  const engine::ExecutorOptions options{.context = kContext, .maxBatch = kMaxBatch};
  std::map<std::string, size_t> checkedPerFamily;
  size_t launchesChecked = 0;
  for (const KernelBundle &b : bundles_) {
    const bundle::Manifest &manifest = b.bundle->manifest();
    cpu::CpuProgram cpu(*b.bundle, options);
    HipExecutor gpu(*b.bundle, *platform_, options, hipOptions);
    for (bundle::PhaseKind phase : {bundle::PhaseKind::Prefill, bundle::PhaseKind::Decode}) {
      const bundle::PhasePlan &plan = manifest.phase(phase);
      const std::vector<uint64_t> seqs =
          phase == bundle::PhaseKind::Prefill
              ? std::vector<uint64_t>(std::begin(kPrefillSeqs), std::end(kPrefillSeqs))
              : std::vector<uint64_t>{1};
      for (uint64_t seq : seqs) {
        for (size_t i = 0; i < plan.launches.size(); ++i) {
          const bundle::Launch &launch = plan.launches[i];
          const bundle::KernelSpec &kernel = *manifest.findKernel(launch.kernel);
          const bundle::FamilySpec &family = *bundle::findFamily(kernel.family);
          const std::string label =
              fmt::format("bundle {}, phase {} (seq {}), launch {}, kernel '{}' (family {}{})",
                          b.name, nameOf(phase), seq, i, kernel.name, kernel.family,
                          kernel.route.empty() ? "" : ", route " + kernel.route);
          const uint64_t seed = launchSeed(label);

          double tolerance = kF32Tolerance;
          for (const char *param : {"dtype_a", "dtype_b"}) {
            auto it = kernel.params.find(param);
            if (it == kernel.params.end())
              continue;
            const std::string *dtype = std::get_if<std::string>(&it->second);
            const std::optional<double> t = dtype ? toleranceOf(*dtype) : std::nullopt;
            if (!t) {
              ADD_FAILURE() << label << ": params." << param
                            << " is no dtype this test has a tolerance for (f32, f16, bf16, i16)";
              continue;
            }
            tolerance = std::max(tolerance, *t);
          }

          const std::map<std::string, BufferUse> uses = buffersOf(manifest, launch, family);
          InputMaker inputs(seed, manifest.model, seq);
          std::map<std::string, std::vector<uint8_t>> made;
          for (const auto &[name, use] : uses)
            made[name] = inputs.make(*use.spec, rowsAllocated(*use.spec), use.read);
          // The binary16 copies a gemm on binary16 weights reads, made from what they copy.
          for (const auto &[arg, value] : launch.args) {
            const std::string source(bundle::binary16SourceOf(arg));
            if (source.empty() || !uses.at(value).read)
              continue;
            if (source == "x") {
              const bool normed = bundle::stringParam(kernel, "prologue") == "rms_norm";
              castRowsToHalves(made.at(launch.args.at("x")), uses.at(value).spec->cols,
                               normed ? cpu.boundWeight(phase, i, "norm") : std::nullopt,
                               normed ? static_cast<float>(bundle::numberParam(kernel, "eps")) : 0,
                               made.at(value));
              continue;
            }
            const std::optional<cpu::WeightView> weight = cpu.boundWeight(phase, i, source);
            ASSERT_TRUE(weight) << label << ": no weight bound to " << source;
            writeHalves(*weight, made.at(value));
          }
          for (const auto &[name, use] : uses) {
            const std::vector<uint8_t> &bytes = made.at(name);
            gpu.uploadBuffer(name, bytes);
            std::span<uint8_t> host = cpu.bufferBytes(name);
            ASSERT_EQ(host.size(), bytes.size()) << label << ": buffer " << name;
            std::memcpy(host.data(), bytes.data(), bytes.size());
          }
          gpu.runLaunch(phase, i, seq);
          cpu.runLaunch(phase, i, seq);

          for (const auto &[name, use] : uses) {
            if (!use.written)
              continue;
            const std::vector<uint8_t> got = gpu.downloadBuffer(name);
            const std::span<const uint8_t> want = cpu.bufferBytes(name);
            ASSERT_EQ(got.size(), want.size()) << label << ": buffer " << name;
            std::string report;
            if (use.spec->kind == bundle::BufferKind::Audit)
              report = compareAuditRecords(got, want);
            else if (use.spec->kind == bundle::BufferKind::Kv)
              report = compareKvCache(got, want, *use.spec, inputs.firstPosition(), seq, tolerance);
            else if (use.spec->dtype == bundle::BufferDType::F32)
              report = compareFloats(got, want, use.spec->cols, tolerance);
            else if (use.spec->dtype == bundle::BufferDType::F16)
              report = compareFloats(halvesAsFloatBytes(got), halvesAsFloatBytes(want),
                                     use.spec->cols, std::max(tolerance, kF16Tolerance));
            else if (got != std::vector<uint8_t>(want.begin(), want.end()))
              report = "\n  bytes differ";
            if (!report.empty())
              ADD_FAILURE() << label << ": buffer '" << name << "' (" << nameOf(use.spec->kind)
                            << ", " << use.spec->cols << " cols)" << report << "\n  seed "
                            << seed_ << " (GRETA_KERNEL_TEST_SEED=" << seed_ << " reruns it)";
          }
          ++checkedPerFamily[kernel.family + (kernel.route.empty() ? "" : "/" + kernel.route)];
          ++launchesChecked;
        }
      }
    }
  }
  std::string families;
  for (const auto &[family, count] : checkedPerFamily)
    families += fmt::format("{}{} x{}", families.empty() ? "" : ", ", family, count);
  std::cout << fmt::format("GRETA_GPU kernel tests: {} launches vs cpu ({})\n", launchesChecked,
                           families);
}

} // namespace
} // namespace greta::hip
