//===- cpu_kernels_test.cpp - CPU kernel families vs scalar references -----===//
//
// Every family runs on random inputs of several shapes (ragged ones included) and is compared
// with a plain double-precision loop written from docs/bundle-format.md. Dot products over each
// quantized type are compared with dequantize-then-dot. Results must not depend on the number
// of threads or of rows.
//
//===----------------------------------------------------------------------===//
#include "runtime/bundle/audit_record.h"
#include "runtime/bundle/kernel_families.h"
#include "runtime/cpu/block_decode.h"
#include "runtime/cpu/kernel_registry.h"
#include "runtime/cpu/kernels/families.h"
#include "runtime/cpu/weight_dot.h"
#include "runtime/formats/quant.h"
#include "runtime/support/audit_digest.h"

#include "test/unit/gguf_test_support.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>

namespace greta::cpu {
namespace {

using bundle::ParamValue;
using bundle::RowExtent;

/// Normalised error bound for f32 accumulation against a double reference.
constexpr double kF32Tolerance = 2e-6;

std::vector<float> randomValues(size_t count, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> values(count);
  for (float &v : values)
    v = normal(rng);
  return values;
}

/// max |a - b| / max |b|: scale-free, as the GPU tests will measure it too.
double normalizedError(std::span<const float> actual, std::span<const double> expected) {
  EXPECT_EQ(actual.size(), expected.size());
  double maxDiff = 0, maxRef = 1e-30;
  for (size_t i = 0; i < std::min(actual.size(), expected.size()); ++i) {
    maxDiff = std::max(maxDiff, std::abs(actual[i] - expected[i]));
    maxRef = std::max(maxRef, std::abs(expected[i]));
  }
  return maxDiff / maxRef;
}

/// A quantized weight [n rows, k values] with its dequantized values for references.
struct TestWeight {
  std::vector<uint8_t> bytes;
  std::vector<float> values;
  WeightView view;

  TestWeight(TensorType type, uint64_t k, uint64_t n, uint32_t seed,
             const std::string &name = "w") {
    const uint64_t row = rowBytes(type, k, name);
    bytes.resize(row * n);
    values.resize(k * n);
    const std::vector<float> source = randomValues(k * n, seed, 1.0f / std::sqrt(float(k)));
    for (uint64_t r = 0; r < n; ++r) {
      quantizeRow(type, std::span(source).subspan(r * k, k),
                  std::span(bytes).subspan(r * row, row));
      dequantizeRow(type, std::span<const uint8_t>(bytes).subspan(r * row, row),
                    std::span(values).subspan(r * k, k));
    }
    view = {name, type, k, n, row, bytes.data()};
  }
};

/// Buffers, weights and a kernel for one launch, run through the registry's factory.
class LaunchHarness {
public:
  explicit LaunchHarness(std::string family) {
    kernel_.name = "k";
    kernel_.family = std::move(family);
  }

  LaunchHarness &param(const std::string &name, ParamValue value) {
    kernel_.params[name] = std::move(value);
    return *this;
  }
  /// A buffer of `rows` allocated rows with extent `extent`, filled with `values` (f32) or zeros.
  CpuBuffer &buffer(const std::string &arg, RowExtent extent, uint64_t rows, uint64_t cols,
                    std::vector<float> values = {},
                    bundle::BufferDType dtype = bundle::BufferDType::F32) {
    auto spec = std::make_unique<bundle::BufferSpec>();
    spec->name = arg;
    spec->rows = extent;
    spec->cols = cols;
    spec->dtype = dtype;
    const uint64_t floats = (rows * cols * bundle::bytesOf(dtype) + 3) / 4;
    values.resize(floats);
    buffers_.push_back(std::make_unique<CpuBuffer>(*spec, rows, std::move(values)));
    specs_.push_back(std::move(spec));
    bindings_.emplace_back(arg, buffers_.back().get());
    return *buffers_.back();
  }
  /// Binds an existing buffer to another argument (aliasing).
  void alias(const std::string &arg, CpuBuffer &buffer) { bindings_.emplace_back(arg, &buffer); }
  CpuBuffer &positions(std::vector<int32_t> ids) {
    CpuBuffer &b =
        buffer("positions", RowExtent::seq(), ids.size(), 1, {}, bundle::BufferDType::I32);
    std::memcpy(b.i32(), ids.data(), ids.size() * sizeof(int32_t));
    return b;
  }
  void weight(const std::string &arg, const WeightView &view) { weights_[arg] = view; }
  /// Weights resolved by name (RoPE freqs).
  void namedWeight(const std::string &name, const WeightView &view) { named_[name] = view; }

  void run(uint64_t seq, unsigned threads = 2) {
    LaunchBinding binding(kernel_, "test launch",
                          [this](std::string_view name) { return named_.at(std::string(name)); });
    for (auto &[arg, buffer] : bindings_)
      binding.bindBuffer(arg, buffer);
    for (auto &[arg, view] : weights_)
      binding.bindWeight(arg, view);
    CpuLaunchFactory factory = findCpuFactory(kernel_.family);
    ASSERT_NE(factory, nullptr);
    ThreadPool pool(threads);
    factory(binding)->run({seq, &pool});
  }

private:
  bundle::KernelSpec kernel_;
  std::vector<std::unique_ptr<bundle::BufferSpec>> specs_;
  std::vector<std::unique_ptr<CpuBuffer>> buffers_;
  std::vector<std::pair<std::string, CpuBuffer *>> bindings_;
  std::map<std::string, WeightView> weights_;
  std::map<std::string, WeightView> named_;
};

std::span<const float> rowsOf(CpuBuffer &b, uint64_t rows) {
  return {b.f32(), static_cast<size_t>(rows * b.cols())};
}

double dotReference(const float *a, const float *b, uint64_t n) {
  double sum = 0;
  for (uint64_t i = 0; i < n; ++i)
    sum += double(a[i]) * b[i];
  return sum;
}

std::vector<double> rmsNormReference(const float *x, const std::vector<float> &w, double eps) {
  double sumSquares = 0;
  for (size_t i = 0; i < w.size(); ++i)
    sumSquares += double(x[i]) * x[i];
  const double scale = 1.0 / std::sqrt(sumSquares / w.size() + eps);
  std::vector<double> out(w.size());
  for (size_t i = 0; i < w.size(); ++i)
    out[i] = x[i] * scale * w[i];
  return out;
}

/// out[s][n] = Σ_k W[n][k] x[s][k].
std::vector<double> matmulReference(const TestWeight &w, const std::vector<float> &x,
                                    uint64_t rows) {
  const uint64_t k = w.view.rowLength, n = w.view.rows;
  std::vector<double> out(rows * n);
  for (uint64_t s = 0; s < rows; ++s)
    for (uint64_t j = 0; j < n; ++j)
      out[s * n + j] = dotReference(w.values.data() + j * k, x.data() + s * k, k);
  return out;
}

double siluReference(double x) { return x / (1.0 + std::exp(-x)); }

/// Rotates adjacent pairs of each head as docs/bundle-format.md says.
void ropeReference(std::vector<double> &row, uint64_t heads, uint64_t headDim, int32_t position,
                   double theta, const std::vector<float> &divisors) {
  for (uint64_t h = 0; h < heads; ++h)
    for (uint64_t i = 0; i < headDim / 2; ++i) {
      double angle = position * std::pow(theta, -2.0 * i / headDim);
      if (!divisors.empty())
        angle /= divisors[i];
      double &a = row[h * headDim + 2 * i], &b = row[h * headDim + 2 * i + 1];
      const double x0 = a, x1 = b;
      a = x0 * std::cos(angle) - x1 * std::sin(angle);
      b = x0 * std::sin(angle) + x1 * std::cos(angle);
    }
}

/// x rounded to binary16 (to nearest, ties to even) and widened back, written from the format's
/// definition rather than through floatToHalf: 11 significant bits, exponents down to -14 with
/// subnormals below (a fixed step of 2^-24), and Inf past the largest value 65504.
float binary16Reference(float x) {
  if (x == 0 || !std::isfinite(x))
    return x;
  const double step = std::ldexp(1.0, std::max(std::ilogb(x), -14) - 10);
  const double rounded = std::nearbyint(x / step) * step; // the default mode: ties to even
  return std::fabs(rounded) > 65504 ? std::copysign(INFINITY, x) : static_cast<float>(rounded);
}

/// The storage of a KV cache holding `values` for LaunchHarness::buffer: the floats of an f32
/// cache, or an f16 cache's binary16 bits (floatToHalf), two to a float.
std::vector<float> cacheStorage(const std::vector<float> &values, bundle::BufferDType dtype) {
  if (dtype == bundle::BufferDType::F32)
    return values;
  std::vector<float> storage((values.size() + 1) / 2);
  for (size_t i = 0; i < values.size(); ++i) {
    const uint16_t half = floatToHalf(values[i]);
    std::memcpy(reinterpret_cast<uint8_t *>(storage.data()) + i * sizeof half, &half, sizeof half);
  }
  return storage;
}

/// Expects row positions[s] of `cache` to hold row s of `rows` as the cache stores it: the same
/// bits in an f32 cache, their binary16 rounding (binary16Reference) in an f16 one.
void expectCacheRows(CpuBuffer &cache, const float *rows, const std::vector<int32_t> &positions) {
  const bool f16 = cache.spec().dtype == bundle::BufferDType::F16;
  const uint64_t cols = cache.cols();
  for (size_t s = 0; s < positions.size(); ++s)
    for (uint64_t i = 0; i < cols; ++i) {
      const uint64_t at = static_cast<uint64_t>(positions[s]) * cols + i;
      const float source = rows[s * cols + i];
      const float got = f16 ? halfToFloat(cache.f16()[at]) : cache.f32()[at];
      const float want = f16 ? binary16Reference(source) : source;
      ASSERT_EQ(std::bit_cast<uint32_t>(got), std::bit_cast<uint32_t>(want))
          << cache.spec().name << " (" << nameOf(cache.spec().dtype) << ") row " << positions[s]
          << " col " << i << ": stored " << got << " for " << source;
    }
}

/// The KV caches of a rope_kv_append (or the matmul_qkv that carries one): its params (theta
/// 10000, no freqs, the caches' `kvDtype`) set on `h`, and its two cache buffers of `context`
/// rows, returned as (k_cache, v_cache).
std::pair<CpuBuffer *, CpuBuffer *> ropeKvAppendCaches(LaunchHarness &h, uint64_t heads,
                                                       uint64_t kvHeads, uint64_t headDim,
                                                       uint64_t context,
                                                       bundle::BufferDType kvDtype) {
  h.param("heads", int64_t(heads))
      .param("kv_heads", int64_t(kvHeads))
      .param("head_dim", int64_t(headDim))
      .param("theta", 10000.0)
      .param("freqs", std::string("none"))
      .param("kv_dtype", std::string(nameOf(kvDtype)));
  const uint64_t cols = kvHeads * headDim;
  return {&h.buffer("k_cache", RowExtent::context(), context, cols, {}, kvDtype),
          &h.buffer("v_cache", RowExtent::context(), context, cols, {}, kvDtype)};
}

//===--- Block decoding and dot products over every weight type ------------===//

// Tests that the CPU's fast block decoders give bit-identical values to the reference decoder
// (formats/quant.h) for every type, on random blocks and, for F16, on every bit pattern.
TEST(BlockDecode, BitExactWithReferenceDecoder) {
  constexpr uint64_t kValues = 4096;
  for (TensorType type : {TensorType::F32, TensorType::F16, TensorType::BF16, TensorType::Q8_0,
                          TensorType::Q4_0, TensorType::Q4_K, TensorType::Q5_K, TensorType::Q6_K}) {
    const TestWeight w(type, kValues, 1, 7);
    std::vector<float> fast(kValues);
    blockDecoder(type)(w.bytes.data(), fast.data(), kValues / traitsOf(type).blockElements);
    EXPECT_EQ(0, std::memcmp(fast.data(), w.values.data(), kValues * sizeof(float)))
        << nameOf(type);
  }
  std::vector<uint8_t> everyHalf(2 << 16);
  for (uint32_t bits = 0; bits < (1u << 16); ++bits)
    std::memcpy(everyHalf.data() + 2 * bits, &bits, 2);
  std::vector<float> fast(1 << 16), reference(1 << 16);
  blockDecoder(TensorType::F16)(everyHalf.data(), fast.data(), fast.size());
  dequantizeRow(TensorType::F16, everyHalf, reference);
  EXPECT_EQ(0, std::memcmp(fast.data(), reference.data(), fast.size() * sizeof(float)));
  test::expectError([] { blockDecoder(TensorType::Q2_K); }, {"Q2_K", "does not compute"});
}

struct DotCase {
  TensorType type;
  uint64_t k;
};

class WeightDotTest : public ::testing::TestWithParam<DotCase> {};

// Tests that dot products straight over each weight type's blocks match dequantize-then-dot, for
// row lengths of one tile, several tiles and ragged ones, and for 1..33 output rows.
TEST_P(WeightDotTest, MatchesDequantizedReference) {
  const DotCase c = GetParam();
  for (uint64_t n : {1u, 7u, 8u, 9u, 33u}) {
    const TestWeight w(c.type, c.k, n, 100 + static_cast<uint32_t>(n));
    const uint64_t rows = 3;
    const std::vector<float> x = randomValues(rows * c.k, 5);
    std::vector<float> out(rows * n);
    dotWeightRows(w.view, 0, n, {x.data(), c.k, rows, out.data(), n});
    EXPECT_LT(normalizedError(out, matmulReference(w, x, rows)), kF32Tolerance)
        << nameOf(c.type) << " k=" << c.k << " n=" << n;
  }
}

// Tests that one activation row (decode) gets bit-identical results to the same row inside a
// batch (prefill), and that splitting the output rows differently changes nothing.
TEST_P(WeightDotTest, RowCountAndSplitDoNotChangeBits) {
  const DotCase c = GetParam();
  const uint64_t n = 21, rows = 5;
  const TestWeight w(c.type, c.k, n, 3);
  const std::vector<float> x = randomValues(rows * c.k, 9);
  std::vector<float> batch(rows * n);
  dotWeightRows(w.view, 0, n, {x.data(), c.k, rows, batch.data(), n});
  for (uint64_t s = 0; s < rows; ++s) {
    std::vector<float> single(n);
    // Two ranges split at an odd column, unlike the batch run.
    dotWeightRows(w.view, 0, 5, {x.data() + s * c.k, c.k, 1, single.data(), n});
    dotWeightRows(w.view, 5, n, {x.data() + s * c.k, c.k, 1, single.data() + 5, n});
    EXPECT_EQ(0, std::memcmp(single.data(), batch.data() + s * n, n * sizeof(float)))
        << nameOf(c.type) << " row " << s;
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllTypes, WeightDotTest,
    ::testing::Values(DotCase{TensorType::F32, 256}, DotCase{TensorType::F32, 300},
                      DotCase{TensorType::F16, 768}, DotCase{TensorType::BF16, 512},
                      DotCase{TensorType::Q8_0, 32}, DotCase{TensorType::Q8_0, 800},
                      DotCase{TensorType::Q4_0, 96}, DotCase{TensorType::Q4_0, 1024},
                      DotCase{TensorType::Q4_K, 256}, DotCase{TensorType::Q4_K, 1280},
                      DotCase{TensorType::Q5_K, 512}, DotCase{TensorType::Q6_K, 768}),
    [](const auto &info) { return fmt::format("{}_k{}", nameOf(info.param.type), info.param.k); });

//===--- Families ----------------------------------------------------------===//

// Tests that every kernel family of bundle format 1 has a CPU implementation.
TEST(CpuKernels, RegistryCoversEveryFamily) {
  for (const bundle::FamilySpec &family : bundle::kernelFamilies())
    EXPECT_NE(findCpuFactory(family.name), nullptr) << family.name;
  EXPECT_EQ(findCpuFactory("no_such_family"), nullptr);
}

// Tests that embedding rows are the dequantized table rows of the token ids, and that an id
// outside the vocabulary is an error naming it.
TEST(CpuKernels, EmbeddingCopiesDequantizedRowsAndRejectsBadIds) {
  const TestWeight table(TensorType::Q8_0, 64, 10, 1, "token_embd.weight");
  LaunchHarness h("embedding");
  h.param("dim", int64_t{64});
  CpuBuffer &tokens = h.buffer("tokens", RowExtent::seq(), 3, 1, {}, bundle::BufferDType::I32);
  const int32_t ids[] = {9, 0, 4};
  std::memcpy(tokens.i32(), ids, sizeof ids);
  CpuBuffer &out = h.buffer("out", RowExtent::seq(), 3, 64);
  h.weight("table", table.view);
  h.run(3);
  for (int s = 0; s < 3; ++s)
    EXPECT_EQ(
        0, std::memcmp(out.f32() + s * 64, table.values.data() + ids[s] * 64, 64 * sizeof(float)));
  tokens.i32()[1] = 10;
  test::expectError([&] { h.run(3); }, {"token id 10", "vocabulary of 10", "token_embd.weight"});
}

// Tests rms_norm and add_rms_norm (sum written in place over a) against the formula.
TEST(CpuKernels, RmsNormAndAddRmsNormMatchReference) {
  for (uint64_t dim : {32u, 256u, 1000u}) {
    const uint64_t rows = 3;
    const TestWeight w(TensorType::F32, dim, 1, 2);
    const std::vector<float> a = randomValues(rows * dim, 3), b = randomValues(rows * dim, 4);
    const double eps = 1e-5;

    LaunchHarness norm("rms_norm");
    norm.param("dim", int64_t(dim)).param("eps", eps);
    norm.buffer("x", RowExtent::seq(), rows, dim, a);
    CpuBuffer &out = norm.buffer("out", RowExtent::seq(), rows, dim);
    norm.weight("weight", w.view);
    norm.run(rows);

    LaunchHarness fused("add_rms_norm");
    fused.param("dim", int64_t(dim)).param("eps", eps);
    CpuBuffer &sum = fused.buffer("a", RowExtent::seq(), rows, dim, a);
    fused.alias("sum", sum);
    fused.buffer("b", RowExtent::seq(), rows, dim, b);
    CpuBuffer &fusedOut = fused.buffer("out", RowExtent::seq(), rows, dim);
    fused.weight("weight", w.view);
    fused.run(rows);

    std::vector<double> expected, expectedFused, expectedSum;
    for (uint64_t s = 0; s < rows; ++s) {
      auto r = rmsNormReference(a.data() + s * dim, w.values, eps);
      expected.insert(expected.end(), r.begin(), r.end());
      std::vector<float> ab(dim);
      for (uint64_t i = 0; i < dim; ++i) {
        ab[i] = a[s * dim + i] + b[s * dim + i];
        expectedSum.push_back(ab[i]);
      }
      auto f = rmsNormReference(ab.data(), w.values, eps);
      expectedFused.insert(expectedFused.end(), f.begin(), f.end());
    }
    EXPECT_LT(normalizedError(rowsOf(out, rows), expected), kF32Tolerance) << dim;
    EXPECT_LT(normalizedError(rowsOf(fusedOut, rows), expectedFused), kF32Tolerance) << dim;
    EXPECT_LT(normalizedError(rowsOf(sum, rows), expectedSum), 1e-7) << dim;
  }
}

// Tests matmul with the rms_norm prologue and the residual epilogue writing over its residual,
// reading only the last row of a longer input (rows "last").
TEST(CpuKernels, MatmulWithPrologueAndResidualInPlace) {
  const uint64_t k = 512, n = 40, inputRows = 4;
  const TestWeight w(TensorType::Q4_K, k, n, 11);
  const TestWeight norm(TensorType::F32, k, 1, 12);
  const std::vector<float> x = randomValues(inputRows * k, 13);
  const std::vector<float> residual = randomValues(n, 14);
  LaunchHarness h("matmul");
  h.param("k", int64_t(k))
      .param("n", int64_t(n))
      .param("quant", std::string("Q4_K"))
      .param("prologue", std::string("rms_norm"))
      .param("eps", 1e-5)
      .param("epilogue", std::string("residual_add"));
  h.buffer("x", RowExtent::seq(), inputRows, k, x);
  CpuBuffer &out = h.buffer("out", RowExtent::last(), 1, n, residual);
  h.alias("residual", out);
  h.weight("weight", w.view);
  h.weight("norm", norm.view);
  h.run(inputRows);

  const std::vector<double> normed =
      rmsNormReference(x.data() + (inputRows - 1) * k, norm.values, 1e-5);
  const std::vector<float> normedF(normed.begin(), normed.end());
  std::vector<double> expected = matmulReference(w, normedF, 1);
  for (uint64_t j = 0; j < n; ++j)
    expected[j] += residual[j];
  EXPECT_LT(normalizedError(rowsOf(out, 1), expected), 1e-5);
}

// Tests dequant_f16: a weight matrix as binary16, row after row, each value the binary16
// (round to nearest even) of the value the decoder gives; the scratch buffer's tail past the
// matrix is left as it was.
TEST(CpuKernels, DequantF16WritesRowsAsBinary16) {
  const uint64_t k = 512, n = 5, spare = 3;
  const TestWeight w(TensorType::Q4_K, k, n, 31);
  LaunchHarness h("dequant_f16");
  h.param("k", int64_t(k)).param("n", int64_t(n)).param("quant", std::string("Q4_K"));
  const std::vector<float> poison(n * k + spare, std::bit_cast<float>(0xffffffffu));
  CpuBuffer &out =
      h.buffer("out", RowExtent::fixed(1), 1, n * k + spare, poison, bundle::BufferDType::F16);
  h.weight("weight", w.view);
  h.run(1, 3);
  const auto *halves = reinterpret_cast<const uint16_t *>(out.bytes());
  for (uint64_t i = 0; i < n * k; ++i)
    ASSERT_EQ(halves[i], floatToHalf(w.values[i])) << "value " << i;
  for (uint64_t i = n * k; i < n * k + spare; ++i)
    EXPECT_EQ(halves[i], 0xffffu) << "value " << i << " is past the matrix";
  // Rounding: the values differ from the decoder's by at most half a binary16 ulp.
  EXPECT_NEAR(halfToFloat(halves[7]), w.values[7], std::fabs(w.values[7]) * 0x1p-11);
}

// Tests cast_f16: the input rows as binary16 (round to nearest even) of prologue(x), the
// RMSNorm computed as rms_norm computes it; without a prologue, x rounded.
TEST(CpuKernels, CastF16RoundsThePrologueOfEachRow) {
  const uint64_t k = 160, rows = 3;
  const TestWeight norm(TensorType::F32, k, 1, 41);
  const std::vector<float> x = randomValues(rows * k, 42, 3.0f);
  for (bool normed : {true, false}) {
    LaunchHarness h("cast_f16");
    h.param("k", int64_t(k))
        .param("prologue", std::string(normed ? "rms_norm" : "none"))
        .param("eps", 1e-5);
    h.buffer("x", RowExtent::seq(), rows, k, x);
    CpuBuffer &out = h.buffer("out", RowExtent::seq(), rows, k, {}, bundle::BufferDType::F16);
    if (normed)
      h.weight("norm", norm.view);
    h.run(rows);
    const auto *halves = reinterpret_cast<const uint16_t *>(out.bytes());
    for (uint64_t s = 0; s < rows; ++s) {
      std::vector<double> want(x.begin() + s * k, x.begin() + (s + 1) * k);
      if (normed)
        want = rmsNormReference(x.data() + s * k, norm.values, 1e-5);
      for (uint64_t i = 0; i < k; ++i)
        ASSERT_NEAR(halfToFloat(halves[s * k + i]), want[i], std::fabs(want[i]) * 0x1p-11 + 1e-7)
            << "row " << s << " value " << i << (normed ? " (rms_norm)" : "");
    }
  }
}

// Tests matmul_gate_up = silu(x·Wg) * (x·Wu) on a ragged output width.
TEST(CpuKernels, MatmulGateUpMatchesReference) {
  const uint64_t k = 256, n = 37, rows = 3;
  const TestWeight gate(TensorType::Q6_K, k, n, 21), up(TensorType::Q6_K, k, n, 22);
  const std::vector<float> x = randomValues(rows * k, 23);
  LaunchHarness h("matmul_gate_up");
  h.param("k", int64_t(k))
      .param("n", int64_t(n))
      .param("quant", std::string("Q6_K"))
      .param("prologue", std::string("none"));
  h.buffer("x", RowExtent::seq(), rows, k, x);
  CpuBuffer &out = h.buffer("out", RowExtent::seq(), rows, n);
  h.weight("gate", gate.view);
  h.weight("up", up.view);
  h.run(rows, 3);
  const std::vector<double> g = matmulReference(gate, x, rows), u = matmulReference(up, x, rows);
  std::vector<double> expected(g.size());
  for (size_t i = 0; i < g.size(); ++i)
    expected[i] = siluReference(g[i]) * u[i];
  EXPECT_LT(normalizedError(rowsOf(out, rows), expected), 1e-5);
}

// Tests matmul_qkv: the three products of the normalised input (one prologue for the three,
// v stored in another type, params.v_quant, as Q4_K_M stores some layers' v), then
// rope_kv_append on them: q and k rotated at each row's position, the rotated keys and the
// values in the cache rows of those positions — as they are in an f32 cache, rounded to
// binary16 in an f16 one (params.kv_dtype).
TEST(CpuKernels, MatmulQKVIsThreeProductsThenRopeKvAppend) {
  const uint64_t k = 512, heads = 4, kvHeads = 2, headDim = 8, rows = 3, context = 12;
  const uint64_t nQ = heads * headDim, nKV = kvHeads * headDim;
  const std::vector<int32_t> pos = {4, 7, 11};
  const TestWeight wq(TensorType::Q4_K, k, nQ, 41), wk(TensorType::Q4_K, k, nKV, 42),
      wv(TensorType::Q6_K, k, nKV, 43);
  const TestWeight norm(TensorType::F32, k, 1, 44);
  const std::vector<float> x = randomValues(rows * k, 45);

  std::vector<float> normed;
  for (uint64_t s = 0; s < rows; ++s) {
    const std::vector<double> row = rmsNormReference(x.data() + s * k, norm.values, 1e-5);
    normed.insert(normed.end(), row.begin(), row.end());
  }
  std::vector<double> expectQ = matmulReference(wq, normed, rows);
  std::vector<double> expectK = matmulReference(wk, normed, rows);
  const std::vector<double> expectV = matmulReference(wv, normed, rows);
  for (uint64_t s = 0; s < rows; ++s) {
    std::vector<double> qRow(expectQ.begin() + s * nQ, expectQ.begin() + (s + 1) * nQ);
    std::vector<double> kRow(expectK.begin() + s * nKV, expectK.begin() + (s + 1) * nKV);
    ropeReference(qRow, heads, headDim, pos[s], 10000.0, {});
    ropeReference(kRow, kvHeads, headDim, pos[s], 10000.0, {});
    std::copy(qRow.begin(), qRow.end(), expectQ.begin() + s * nQ);
    std::copy(kRow.begin(), kRow.end(), expectK.begin() + s * nKV);
  }

  for (bundle::BufferDType kvDtype : {bundle::BufferDType::F32, bundle::BufferDType::F16}) {
    SCOPED_TRACE(nameOf(kvDtype));
    LaunchHarness h("matmul_qkv");
    h.param("k", int64_t(k))
        .param("quant", std::string("Q4_K"))
        .param("v_quant", std::string("Q6_K"))
        .param("prologue", std::string("rms_norm"))
        .param("eps", 1e-5);
    auto [kCache, vCache] = ropeKvAppendCaches(h, heads, kvHeads, headDim, context, kvDtype);
    h.buffer("x", RowExtent::seq(), rows, k, x);
    CpuBuffer &q = h.buffer("q", RowExtent::seq(), rows, nQ);
    CpuBuffer &kOut = h.buffer("k", RowExtent::seq(), rows, nKV);
    CpuBuffer &v = h.buffer("v", RowExtent::seq(), rows, nKV);
    h.positions(pos);
    h.weight("q_weight", wq.view);
    h.weight("k_weight", wk.view);
    h.weight("v_weight", wv.view);
    h.weight("norm", norm.view);
    h.run(rows, 3);

    EXPECT_LT(normalizedError(rowsOf(q, rows), expectQ), 1e-5);
    EXPECT_LT(normalizedError(rowsOf(kOut, rows), expectK), 1e-5);
    EXPECT_LT(normalizedError(rowsOf(v, rows), expectV), 1e-5);
    expectCacheRows(*kCache, kOut.f32(), pos);
    expectCacheRows(*vCache, v.f32(), pos);
  }
}

// Tests that lm_head computes the logits of the last row only.
TEST(CpuKernels, LmHeadUsesLastRow) {
  const uint64_t k = 256, vocab = 99, rows = 4;
  const TestWeight w(TensorType::Q8_0, k, vocab, 31);
  const std::vector<float> x = randomValues(rows * k, 32);
  LaunchHarness h("lm_head");
  h.param("k", int64_t(k)).param("n", int64_t(vocab)).param("quant", std::string("Q8_0"));
  h.buffer("x", RowExtent::seq(), rows, k, x);
  CpuBuffer &out = h.buffer("out", RowExtent::fixed(1), 1, vocab);
  h.weight("weight", w.view);
  h.run(rows);
  const std::vector<float> last(x.end() - static_cast<ptrdiff_t>(k), x.end());
  EXPECT_LT(normalizedError(rowsOf(out, 1), matmulReference(w, last, 1)), kF32Tolerance);
}

// Tests RoPE on adjacent pairs with and without Llama-3.1 frequency divisors, at large positions.
TEST(CpuKernels, RopeRotatesAdjacentPairs) {
  const uint64_t heads = 3, headDim = 16, rows = 3;
  const std::vector<int32_t> positions = {0, 17, 4000};
  const std::vector<float> x = randomValues(rows * heads * headDim, 41);
  const TestWeight freqs(TensorType::F32, headDim / 2, 1, 42);
  std::vector<float> divisors(headDim / 2);
  for (uint64_t i = 0; i < divisors.size(); ++i)
    divisors[i] = 1.0f + static_cast<float>(i); // positive, like real scaling factors
  const WeightView divisorView{
      "rope_freqs.weight", TensorType::F32,
      headDim / 2,         1,
      headDim / 2 * 4,     reinterpret_cast<const uint8_t *>(divisors.data())};
  for (bool scaled : {false, true}) {
    LaunchHarness h("rope");
    h.param("heads", int64_t(heads))
        .param("head_dim", int64_t(headDim))
        .param("theta", 500000.0)
        .param("freqs", scaled ? ParamValue(std::string("rope_freqs.weight")) : ParamValue());
    h.namedWeight("rope_freqs.weight", divisorView);
    CpuBuffer &b = h.buffer("x", RowExtent::seq(), rows, heads * headDim, x);
    h.positions(positions);
    h.run(rows);
    std::vector<double> expected;
    for (uint64_t s = 0; s < rows; ++s) {
      std::vector<double> row(x.begin() + s * heads * headDim,
                              x.begin() + (s + 1) * heads * headDim);
      ropeReference(row, heads, headDim, positions[s], 500000.0,
                    scaled ? divisors : std::vector<float>{});
      expected.insert(expected.end(), row.begin(), row.end());
    }
    EXPECT_LT(normalizedError(rowsOf(b, rows), expected), 1e-6) << "scaled " << scaled;
  }
}

/// Runs attention over caches of `kvDtype` holding `keys` and `values` (rounded to binary16 in an
/// f16 cache); returns the output.
std::vector<float> runAttention(uint64_t heads, uint64_t kvHeads, uint64_t headDim,
                                const std::vector<int32_t> &positions, const std::vector<float> &q,
                                const std::vector<float> &keys, const std::vector<float> &values,
                                uint64_t context, unsigned threads,
                                bundle::BufferDType kvDtype = bundle::BufferDType::F32) {
  LaunchHarness h("attention");
  h.param("heads", int64_t(heads))
      .param("kv_heads", int64_t(kvHeads))
      .param("head_dim", int64_t(headDim))
      .param("kv_dtype", std::string(nameOf(kvDtype)));
  const uint64_t rows = positions.size();
  h.buffer("q", RowExtent::seq(), rows, heads * headDim, q);
  h.buffer("k_cache", RowExtent::context(), context, kvHeads * headDim,
           cacheStorage(keys, kvDtype), kvDtype);
  h.buffer("v_cache", RowExtent::context(), context, kvHeads * headDim,
           cacheStorage(values, kvDtype), kvDtype);
  h.positions(positions);
  CpuBuffer &out = h.buffer("out", RowExtent::seq(), rows, heads * headDim);
  h.run(rows, threads);
  return {out.f32(), out.f32() + rows * heads * headDim};
}

// Tests causal GQA attention (each head reads its KV group, query s sees cache rows
// 0..positions[s]) against a double-precision softmax, with results identical for 1 and 3
// threads.
TEST(CpuKernels, AttentionIsCausalGqaAndThreadIndependent) {
  const uint64_t heads = 4, kvHeads = 2, headDim = 32, context = 40;
  const std::vector<int32_t> positions = {5, 6, 7, 39};
  const uint64_t rows = positions.size();
  const std::vector<float> q = randomValues(rows * heads * headDim, 51);
  const std::vector<float> keys = randomValues(context * kvHeads * headDim, 52);
  const std::vector<float> values = randomValues(context * kvHeads * headDim, 53);
  const std::vector<float> out =
      runAttention(heads, kvHeads, headDim, positions, q, keys, values, context, 1);
  const std::vector<float> threaded =
      runAttention(heads, kvHeads, headDim, positions, q, keys, values, context, 3);
  EXPECT_EQ(out, threaded);

  std::vector<double> expected(rows * heads * headDim);
  const uint64_t kvCols = kvHeads * headDim;
  for (uint64_t s = 0; s < rows; ++s)
    for (uint64_t h = 0; h < heads; ++h) {
      const uint64_t g = h / (heads / kvHeads);
      std::vector<double> scores;
      for (int32_t t = 0; t <= positions[s]; ++t)
        scores.push_back(dotReference(q.data() + (s * heads + h) * headDim,
                                      keys.data() + t * kvCols + g * headDim, headDim) /
                         std::sqrt(double(headDim)));
      const double maxScore = *std::max_element(scores.begin(), scores.end());
      double total = 0;
      for (double &score : scores)
        total += (score = std::exp(score - maxScore));
      for (uint64_t d = 0; d < headDim; ++d) {
        double acc = 0;
        for (size_t t = 0; t < scores.size(); ++t)
          acc += scores[t] / total * values[t * kvCols + g * headDim + d];
        expected[(s * heads + h) * headDim + d] = acc;
      }
    }
  EXPECT_LT(normalizedError(out, expected), 1e-5);
}

// Tests attention over f16 caches: bit for bit the attention over f32 caches holding the same
// binary16 values (a read widens exactly and the arithmetic is the f32 path's), with 1 and 3
// threads, at a ragged head_dim.
TEST(CpuKernels, AttentionOverF16CachesEqualsF32OverTheirValues) {
  const uint64_t heads = 6, kvHeads = 2, headDim = 24, context = 33;
  const std::vector<int32_t> positions = {0, 13, 14, 32};
  const uint64_t rows = positions.size();
  const std::vector<float> q = randomValues(rows * heads * headDim, 54);
  const std::vector<float> keys = randomValues(context * kvHeads * headDim, 55);
  const std::vector<float> values = randomValues(context * kvHeads * headDim, 56, 3.0f);
  std::vector<float> roundedKeys = keys, roundedValues = values;
  for (float &k : roundedKeys)
    k = binary16Reference(k);
  for (float &v : roundedValues)
    v = binary16Reference(v);
  ASSERT_NE(roundedKeys, keys) << "the test needs values binary16 does not hold";
  const std::vector<float> f32 = runAttention(heads, kvHeads, headDim, positions, q, roundedKeys,
                                              roundedValues, context, 1);
  for (unsigned threads : {1u, 3u}) {
    const std::vector<float> f16 = runAttention(heads, kvHeads, headDim, positions, q, keys,
                                                values, context, threads,
                                                bundle::BufferDType::F16);
    ASSERT_EQ(f16.size(), f32.size());
    for (size_t i = 0; i < f32.size(); ++i)
      ASSERT_EQ(std::bit_cast<uint32_t>(f16[i]), std::bit_cast<uint32_t>(f32[i]))
          << "element " << i << ", " << threads << " threads: " << f16[i] << " vs " << f32[i];
  }
  // ... and not the attention over the unrounded values: the cache's dtype took effect.
  EXPECT_NE(runAttention(heads, kvHeads, headDim, positions, q, keys, values, context, 1), f32);
}

// Tests that kv_append writes rows at their positions and refuses a position past the cache.
TEST(CpuKernels, KvAppendWritesAtPositionsAndChecksRange) {
  const uint64_t cols = 8, context = 6;
  const std::vector<float> k = randomValues(2 * cols, 61), v = randomValues(2 * cols, 62);
  LaunchHarness h("kv_append");
  h.param("kv_heads", int64_t{2}).param("head_dim", int64_t{4});
  h.buffer("k", RowExtent::seq(), 2, cols, k);
  h.buffer("v", RowExtent::seq(), 2, cols, v);
  CpuBuffer &positions = h.positions({3, 5});
  CpuBuffer &kCache = h.buffer("k_cache", RowExtent::context(), context, cols);
  CpuBuffer &vCache = h.buffer("v_cache", RowExtent::context(), context, cols);
  h.run(2);
  EXPECT_EQ(0, std::memcmp(kCache.f32() + 3 * cols, k.data(), cols * 4));
  EXPECT_EQ(0, std::memcmp(vCache.f32() + 5 * cols, v.data() + cols, cols * 4));
  EXPECT_EQ(kCache.f32()[4 * cols], 0.0f);
  positions.i32()[1] = 6;
  test::expectError([&] { h.run(2); }, {"position 6", "KV cache of 6 rows"});
}

// Tests that kv_append into f16 caches rounds each value to the nearest binary16, ties to even
// (what the GPU's __float2half_rn stores): halfway cases, values binary16 does not hold, the
// subnormal range and the overflow to Inf; cache rows not written stay as they were.
TEST(CpuKernels, KvAppendRoundsF16CachesToNearestEven) {
  // One row of 8 values and the binary16 each must become (kv_heads 2 x head_dim 4).
  const std::vector<std::pair<float, uint16_t>> cases = {
      {1.0f + 0x1p-11f, 0x3c00},             // halfway between 1 and 1 + 2^-10: to the even 1
      {1.0f + 3 * 0x1p-11f, 0x3c02},         // halfway again: up, to the even mantissa
      {1.0f + 0x1p-11f + 0x1p-20f, 0x3c01},  // just past halfway: up
      {0.1f, 0x2e66},                        // not representable: the nearer neighbour, below
      {-1.0f / 3.0f, 0xb555},                // the nearer neighbour, sign kept
      {3 * 0x1p-25f, 0x0002},                // subnormal halfway case: to the even 2 x 2^-24
      {65519.0f, 0x7bff},                    // below the rounding boundary: the largest, 65504
      {65520.0f, 0x7c00},                    // the boundary itself overflows to Inf
  };
  const uint64_t cols = cases.size(), context = 4;
  std::vector<float> k, v;
  for (const auto &[value, half] : cases) {
    k.push_back(value);
    v.push_back(-value);
  }
  const std::vector<float> poison(context * cols / 2, std::bit_cast<float>(0xffffffffu));
  LaunchHarness h("kv_append");
  h.param("kv_heads", int64_t{2})
      .param("head_dim", int64_t{4})
      .param("kv_dtype", std::string("f16"));
  h.buffer("k", RowExtent::seq(), 1, cols, k);
  h.buffer("v", RowExtent::seq(), 1, cols, v);
  h.positions({2});
  const auto f16 = bundle::BufferDType::F16;
  CpuBuffer &kCache = h.buffer("k_cache", RowExtent::context(), context, cols, poison, f16);
  CpuBuffer &vCache = h.buffer("v_cache", RowExtent::context(), context, cols, poison, f16);
  h.run(1);
  for (uint64_t i = 0; i < cols; ++i) {
    EXPECT_EQ(kCache.f16()[2 * cols + i], cases[i].second) << "k value " << cases[i].first;
    EXPECT_EQ(vCache.f16()[2 * cols + i], cases[i].second ^ 0x8000u)
        << "v value " << -cases[i].first;
  }
  expectCacheRows(kCache, k.data(), {2});
  expectCacheRows(vCache, v.data(), {2});
  for (uint64_t row : {0u, 1u, 3u})
    for (uint64_t i = 0; i < cols; ++i)
      ASSERT_EQ(kCache.f16()[row * cols + i], 0xffffu)
          << "row " << row << ", which no position names, changed";
}

// Tests that rope_kv_append equals rope on q and k followed by kv_append, into f32 caches and
// into f16 ones (the rotated keys and the values rounded to binary16).
TEST(CpuKernels, RopeKvAppendEqualsRopeThenAppend) {
  const uint64_t heads = 4, kvHeads = 2, headDim = 8, rows = 2, context = 10;
  const std::vector<int32_t> pos = {2, 9};
  const std::vector<float> q = randomValues(rows * heads * headDim, 71);
  const std::vector<float> k = randomValues(rows * kvHeads * headDim, 72);
  const std::vector<float> v = randomValues(rows * kvHeads * headDim, 73);
  auto rope = [&](const std::vector<float> &x, uint64_t h) {
    LaunchHarness r("rope");
    r.param("heads", int64_t(h))
        .param("head_dim", int64_t(headDim))
        .param("theta", 10000.0)
        .param("freqs", ParamValue());
    CpuBuffer &b = r.buffer("x", RowExtent::seq(), rows, h * headDim, x);
    r.positions(pos);
    r.run(rows);
    return std::vector<float>(b.f32(), b.f32() + rows * h * headDim);
  };
  const std::vector<float> rotatedQ = rope(q, heads), rotatedK = rope(k, kvHeads);

  for (bundle::BufferDType kvDtype : {bundle::BufferDType::F32, bundle::BufferDType::F16}) {
    SCOPED_TRACE(nameOf(kvDtype));
    LaunchHarness fused("rope_kv_append");
    auto [kCache, vCache] = ropeKvAppendCaches(fused, heads, kvHeads, headDim, context, kvDtype);
    CpuBuffer &fq = fused.buffer("q", RowExtent::seq(), rows, heads * headDim, q);
    CpuBuffer &fk = fused.buffer("k", RowExtent::seq(), rows, kvHeads * headDim, k);
    fused.buffer("v", RowExtent::seq(), rows, kvHeads * headDim, v);
    fused.positions(pos);
    fused.run(rows);
    EXPECT_EQ(std::vector<float>(fq.f32(), fq.f32() + rows * heads * headDim), rotatedQ);
    // The rotated k stays f32 in its buffer; only the caches hold binary16 copies.
    EXPECT_EQ(std::vector<float>(fk.f32(), fk.f32() + rows * kvHeads * headDim), rotatedK);
    expectCacheRows(*kCache, rotatedK.data(), pos);
    expectCacheRows(*vCache, v.data(), pos);
  }
}

// Tests silu_mul and add element by element, with the output aliasing an input.
TEST(CpuKernels, ElementwiseFamiliesInPlace) {
  const uint64_t rows = 3, n = 77;
  const std::vector<float> a = randomValues(rows * n, 81), b = randomValues(rows * n, 82);
  LaunchHarness silu("silu_mul");
  silu.param("n", int64_t(n));
  CpuBuffer &gate = silu.buffer("gate", RowExtent::seq(), rows, n, a);
  silu.alias("out", gate);
  silu.buffer("up", RowExtent::seq(), rows, n, b);
  silu.run(rows);
  LaunchHarness add("add");
  add.param("n", int64_t(n));
  add.buffer("a", RowExtent::seq(), rows, n, a);
  CpuBuffer &sum = add.buffer("b", RowExtent::seq(), rows, n, b);
  add.alias("out", sum);
  add.run(rows);
  std::vector<double> expectedSilu, expectedAdd;
  for (size_t i = 0; i < a.size(); ++i) {
    expectedSilu.push_back(siluReference(a[i]) * b[i]);
    expectedAdd.push_back(double(a[i]) + b[i]);
  }
  EXPECT_LT(normalizedError(rowsOf(gate, rows), expectedSilu), 1e-6);
  EXPECT_LT(normalizedError(rowsOf(sum, rows), expectedAdd), 1e-7);
}

// Tests the audit digest against values computed independently (numpy, from the definition in
// audit_digest.h): a row of 5000 values (three groups, the last leaf and group short), a row
// shorter than a leaf, the empty row; and that it is order-sensitive at every level.
TEST(CpuKernels, AuditDigestIsTheFnvTree) {
  std::vector<float> row;
  for (int i = 0; i < 5000; ++i)
    row.push_back(static_cast<float>((i * 37) % 101 - 50) * 0.125f);
  EXPECT_EQ(auditDigest(row), 0x2dead5b5600a60ebull);
  EXPECT_EQ(auditDigest(std::span<const float>(row).first(3)), 0xf2fb0943521e7a70ull);
  EXPECT_EQ(auditDigest({}), Fnv1a64::kOffsetBasis);
  EXPECT_EQ(formatAuditDigest(0x2dead5b5600a60ebull), "fnv1a64tree:2dead5b5600a60eb");
  auto swapped = [&](size_t a, size_t b) {
    std::vector<float> other = row;
    std::swap(other[a], other[b]);
    EXPECT_NE(other, row);
    return auditDigest(other);
  };
  EXPECT_NE(swapped(0, 1), auditDigest(row));        // inside a leaf
  EXPECT_NE(swapped(1, 65), auditDigest(row));       // two leaves of a group
  EXPECT_NE(swapped(2, 2048 + 3), auditDigest(row)); // two groups
}

// Tests that the GPU kernel template builds the digest with audit_digest.h's shape (the GPU tests
// compare the digests themselves; this catches a drift without a GPU).
TEST(CpuKernels, AuditTemplateUsesTheDigestShape) {
  const std::string path =
      std::string(GRETA_TEST_DATA) + "/../../codegen/templates/audit_stats.hip";
  std::ifstream in(path);
  ASSERT_TRUE(in) << path;
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  EXPECT_NE(text.find("constexpr int kDigestChunk = " + std::to_string(kAuditDigestChunk) + ";"),
            std::string::npos);
  EXPECT_NE(text.find("constexpr int kDigestGroup = " + std::to_string(kAuditDigestGroup) + ";"),
            std::string::npos);
}

// Tests the audit record of the last row: its digest, min/max/mean/sum of squares, and the top
// two logits with their gap (ties to the lower id).
TEST(CpuKernels, AuditStatsDescribeLastRow) {
  const std::vector<float> rows = {9, 9, 9, 1.5f, -2.0f, 3.0f, 3.0f, 0.25f};
  LaunchHarness h("audit_stats");
  h.param("n", int64_t{4}).param("point", std::string("lm_head")).param("is_logits", true);
  h.buffer("x", RowExtent::seq(), 2, 4, rows);
  CpuBuffer &stats = h.buffer("stats", RowExtent::fixed(1), 1, bundle::kAuditRecordBytes, {},
                              bundle::BufferDType::U8);
  h.run(2);
  bundle::AuditStatsRecord r;
  std::memcpy(&r, stats.bytes(), sizeof r);
  EXPECT_EQ(r.hash, 0xe42483fc4cf03420ull); // numpy, from audit_digest.h's definition
  EXPECT_EQ(r.count, 4u);
  EXPECT_FLOAT_EQ(r.min, -2.0f);
  EXPECT_FLOAT_EQ(r.max, 3.0f);
  EXPECT_FLOAT_EQ(r.mean, 1.0625f);
  EXPECT_DOUBLE_EQ(r.sumSquares, 4 + 9 + 9 + 0.0625);
  EXPECT_EQ(r.top1Id, 1);
  EXPECT_EQ(r.top2Id, 2);
  EXPECT_FLOAT_EQ(r.gap, 0.0f);
  EXPECT_EQ(r.isLogits, 1u);
}

// Tests that a matmul's output is bit-identical for 1, 2 and 5 threads.
TEST(CpuKernels, MatmulIsThreadCountIndependent) {
  const uint64_t k = 512, n = 131, rows = 6;
  const TestWeight w(TensorType::Q5_K, k, n, 91);
  const std::vector<float> x = randomValues(rows * k, 92);
  std::vector<std::vector<float>> outputs;
  for (unsigned threads : {1u, 2u, 5u}) {
    LaunchHarness h("matmul");
    h.param("k", int64_t(k))
        .param("n", int64_t(n))
        .param("quant", std::string("Q5_K"))
        .param("prologue", std::string("none"))
        .param("epilogue", std::string("none"));
    h.buffer("x", RowExtent::seq(), rows, k, x);
    CpuBuffer &out = h.buffer("out", RowExtent::seq(), rows, n);
    h.weight("weight", w.view);
    h.run(rows, threads);
    outputs.emplace_back(out.f32(), out.f32() + rows * n);
  }
  EXPECT_EQ(outputs[0], outputs[1]);
  EXPECT_EQ(outputs[0], outputs[2]);
}

} // namespace
} // namespace greta::cpu
