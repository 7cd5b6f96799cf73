// GPU tests of the HIP layer (label `gpu`): the prelude's kernels compiled for this device, run
// through HipApi and compared with the CPU; graph capture and replay; out of memory. Every test
// skips itself where no GPU is usable. Lines starting "GRETA_BENCH" are figures that
// scripts/gpu-check.sh copies into its summary.

#include "runtime/hip/hip_platform.h"
#include "runtime/hip/hip_resources.h"
#include "runtime/hip/kernel_compiler.h"
#include "test/unit/hip/hip_test_support.h"
#include "test/unit/hip/test_kernels.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <iostream>
#include <memory>
#include <optional>
#include <random>

namespace greta::hip {
namespace {

constexpr unsigned kBlock = 256; // the test kernels' block size

std::vector<float> randomFloats(size_t count, uint32_t seed) {
  std::mt19937 generator(seed);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<float> values(count);
  for (float &value : values)
    value = uniform(generator);
  return values;
}

/// IEEE binary16 bits to float (normal, subnormal, zero; the tests produce no inf/NaN).
float halfToFloat(uint16_t bits) {
  int sign = bits >> 15, exponent = (bits >> 10) & 0x1f, mantissa = bits & 0x3ff;
  float magnitude = exponent == 0 ? std::ldexp(static_cast<float>(mantissa), -24)
                                  : std::ldexp(static_cast<float>(mantissa | 0x400), exponent - 25);
  return sign ? -magnitude : magnitude;
}

unsigned blocksFor(size_t count) { return static_cast<unsigned>((count + kBlock - 1) / kBlock); }

template <typename T> void upload(DeviceBuffer &buffer, const std::vector<T> &values) {
  buffer.copyFromHost({reinterpret_cast<const uint8_t *>(values.data()), values.size() * sizeof(T)});
}
template <typename T> std::vector<T> download(const DeviceBuffer &buffer, size_t count) {
  std::vector<T> values(count);
  buffer.copyToHost({reinterpret_cast<uint8_t *>(values.data()), count * sizeof(T)});
  return values;
}

class HipGpuTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    if (platform_ || !skipReason_.empty())
      return;
    test::openSuitePlatform(platform_, skipReason_);
  }

  void SetUp() override {
    if (!platform_)
      GTEST_SKIP() << skipReason_;
    api_ = platform_->api;
    GRETA_HIP_CHECK(*api_, hipSetDevice(platform_->device.ordinal));
    KernelCompilerOptions options;
    options.cacheDirectory = cache_.path();
    compiler_.emplace(platform_->compiler, KernelTarget::of(*platform_), options);
  }

  /// Compiles `source`, loads it and returns its entry point `name`.
  hipFunction_t load(const std::string &name, const char *source) {
    CompiledKernel compiled = compiler_->compile({name, source, {}});
    modules_.push_back(std::make_unique<Module>(*api_, compiled.code, name));
    return modules_.back()->function(name.c_str());
  }

  /// Fills `buffer` with 0xFF bytes (NaN floats) so unwritten elements fail comparisons.
  void poison(const DeviceBuffer &buffer) {
    GRETA_HIP_CHECK(*api_, hipMemsetAsync(buffer.data(), 0xff, buffer.size(), nullptr));
    GRETA_HIP_CHECK(*api_, hipDeviceSynchronize());
  }

  static inline std::optional<HipPlatform> platform_;
  static inline std::string skipReason_;
  const HipApi *api_ = nullptr;
  test::TemporaryDirectory cache_;
  std::optional<KernelCompiler> compiler_;
  std::vector<std::unique_ptr<Module>> modules_;
};

// Tests that the platform describes the device consistently with its vendor.
TEST_F(HipGpuTest, DescribesTheDevice) {
  const DeviceInfo &device = platform_->device;
  RecordProperty("device", platform_->summary());
  if (platform_->vendor == Vendor::Nvidia) {
    EXPECT_TRUE(device.arch.starts_with("sm_")) << device.arch;
    EXPECT_EQ(device.warpSize, 32);
  } else {
    EXPECT_TRUE(device.arch.starts_with("gfx")) << device.arch;
    EXPECT_TRUE(device.warpSize == 64 || device.warpSize == 32);
  }
  EXPECT_GT(device.multiprocessors, 0);
  EXPECT_GE(device.maxThreadsPerBlock, 256);
  EXPECT_GT(device.sharedMemoryPerBlock, 0);
  EXPECT_GE(device.sharedMemoryPerBlockOptin, device.sharedMemoryPerBlock);
  EXPECT_GT(device.totalMemory, size_t{1} << 30);
  EXPECT_LE(device.freeMemory, device.totalMemory);
  EXPECT_GT(device.driverVersion, 0);
}

// Tests the vector add against the CPU at sizes around the block size and a large ragged one.
TEST_F(HipGpuTest, VectorAddMatchesCpu) {
  hipFunction_t add = load("greta_test_vector_add", test::kVectorAddSource);
  for (size_t n : {size_t{1}, size_t{255}, size_t{256}, size_t{257}, (size_t{1} << 20) + 13}) {
    std::vector<float> a = randomFloats(n, 1), b = randomFloats(n, 2);
    DeviceBuffer da(*api_, n * 4, "a"), db(*api_, n * 4, "b"), out(*api_, n * 4, "out");
    upload(da, a);
    upload(db, b);
    poison(out);
    launchKernel(*api_, add, {blocksFor(n)}, {kBlock}, 0, nullptr, da.as<float>(), db.as<float>(),
                 out.as<float>(), static_cast<uint32_t>(n));
    GRETA_HIP_CHECK(*api_, hipDeviceSynchronize());
    std::vector<float> result = download<float>(out, n);
    size_t wrong = 0;
    for (size_t i = 0; i < n; ++i)
      wrong += result[i] != a[i] + b[i];
    EXPECT_EQ(wrong, 0u) << "n = " << n;
  }
}

// Tests the block reductions (sum, max, fp16 sum) against the CPU on ragged row lengths.
TEST_F(HipGpuTest, RowReduceMatchesCpu) {
  hipFunction_t reduce = load("greta_test_row_reduce", test::kRowReduceSource);
  struct Shape {
    size_t rows, cols;
  };
  for (Shape shape : {Shape{1, 1}, Shape{3, 255}, Shape{5, 256}, Shape{7, 257}, Shape{4, 4099}}) {
    std::vector<float> x = randomFloats(shape.rows * shape.cols, 3);
    DeviceBuffer dx(*api_, x.size() * 4, "x"), sums(*api_, shape.rows * 4, "sums"),
        maxes(*api_, shape.rows * 4, "maxes"), sums16(*api_, shape.rows * 2, "sums16");
    upload(dx, x);
    poison(sums);
    poison(maxes);
    poison(sums16);
    launchKernel(*api_, reduce, {static_cast<unsigned>(shape.rows)}, {kBlock}, 0, nullptr,
                 dx.as<float>(), sums.as<float>(), maxes.as<float>(), sums16.data(),
                 static_cast<uint32_t>(shape.cols));
    GRETA_HIP_CHECK(*api_, hipDeviceSynchronize());
    std::vector<float> gotSums = download<float>(sums, shape.rows);
    std::vector<float> gotMaxes = download<float>(maxes, shape.rows);
    std::vector<uint16_t> gotSums16 = download<uint16_t>(sums16, shape.rows);
    for (size_t r = 0; r < shape.rows; ++r) {
      double sum = 0.0, magnitude = 0.0;
      float best = -INFINITY;
      for (size_t c = 0; c < shape.cols; ++c) {
        float value = x[r * shape.cols + c];
        sum += value;
        magnitude += std::fabs(value);
        best = std::max(best, value);
      }
      SCOPED_TRACE(testing::Message() << shape.rows << "x" << shape.cols << " row " << r);
      EXPECT_NEAR(gotSums[r], sum, 1e-5 * magnitude + 1e-6); // float accumulation
      EXPECT_EQ(gotMaxes[r], best);
      EXPECT_NEAR(halfToFloat(gotSums16[r]), gotSums[r], std::fabs(gotSums[r]) * 1e-3 + 1e-4);
    }
  }
}

// Tests that the warp reduction gives every lane the sum over exactly one warp.
TEST_F(HipGpuTest, WarpSumReachesEveryLane) {
  hipFunction_t warpSum = load("greta_test_warp_sum", test::kWarpSumSource);
  int lanes = platform_->device.warpSize;
  std::vector<float> x(lanes);
  for (int i = 0; i < lanes; ++i)
    x[i] = static_cast<float>(i + 1);
  DeviceBuffer dx(*api_, lanes * 4, "x"), out(*api_, lanes * 4, "out");
  upload(dx, x);
  poison(out);
  launchKernel(*api_, warpSum, {1}, {static_cast<unsigned>(lanes)}, 0, nullptr, dx.as<float>(),
               out.as<float>());
  GRETA_HIP_CHECK(*api_, hipDeviceSynchronize());
  for (float value : download<float>(out, lanes))
    EXPECT_EQ(value, lanes * (lanes + 1) / 2.0f);
}

// Tests asynchronous copies through pinned memory on a stream, timed with events.
TEST_F(HipGpuTest, AsyncCopiesThroughPinnedMemory) {
  constexpr size_t kCount = 1 << 20;
  PinnedHostBuffer staging(*api_, kCount * 4);
  std::vector<float> values = randomFloats(kCount, 4);
  std::memcpy(staging.data(), values.data(), kCount * 4);
  DeviceBuffer device(*api_, kCount * 4, "copy");
  Stream stream(*api_);
  Event start(*api_), stop(*api_);
  start.record(stream.get());
  GRETA_HIP_CHECK(*api_, hipMemcpyAsync(device.data(), staging.data(), kCount * 4,
                                        hipMemcpyHostToDevice, stream.get()));
  stream.synchronize();
  std::memset(staging.data(), 0, kCount * 4);
  GRETA_HIP_CHECK(*api_, hipMemcpyAsync(staging.data(), device.data(), kCount * 4,
                                        hipMemcpyDeviceToHost, stream.get()));
  stop.record(stream.get());
  stream.synchronize();
  EXPECT_EQ(std::memcmp(staging.data(), values.data(), kCount * 4), 0);
  EXPECT_GE(Event::elapsedMilliseconds(start, stop), 0.0f);
}

// Tests that a captured two-kernel sequence replays, reading its inputs afresh each time.
TEST_F(HipGpuTest, GraphReplaysTwoKernelSequence) {
  hipFunction_t add = load("greta_test_vector_add", test::kVectorAddSource);
  hipFunction_t scale = load("greta_test_scale", test::kScaleSource);
  constexpr size_t kCount = 10007;
  DeviceBuffer a(*api_, kCount * 4, "a"), b(*api_, kCount * 4, "b"), out(*api_, kCount * 4, "out");
  std::vector<float> hostB = randomFloats(kCount, 5);
  upload(b, hostB);
  Stream stream(*api_);
  GraphExec graph = GraphExec::capture(*api_, stream.get(), [&] {
    launchKernel(*api_, add, {blocksFor(kCount)}, {kBlock}, 0, stream.get(), a.as<float>(),
                 b.as<float>(), out.as<float>(), static_cast<uint32_t>(kCount));
    launchKernel(*api_, scale, {blocksFor(kCount)}, {kBlock}, 0, stream.get(), out.as<float>(),
                 2.0f, static_cast<uint32_t>(kCount));
  });
  for (uint32_t replay = 0; replay < 3; ++replay) {
    std::vector<float> hostA = randomFloats(kCount, 100 + replay);
    upload(a, hostA);
    poison(out);
    graph.launch(stream.get());
    stream.synchronize();
    std::vector<float> result = download<float>(out, kCount);
    size_t wrong = 0;
    for (size_t i = 0; i < kCount; ++i)
      wrong += result[i] != 2.0f * (hostA[i] + hostB[i]);
    EXPECT_EQ(wrong, 0u) << "replay " << replay;
  }
}

// Tests the out-of-memory message on the real device, and that the device stays usable.
TEST_F(HipGpuTest, OutOfMemorySaysRequestedAndFree) {
  size_t tooMuch = platform_->device.totalMemory + (size_t{16} << 30);
  try {
    DeviceBuffer buffer(*api_, tooMuch, "oversized test buffer");
    FAIL() << "allocated " << tooMuch << " bytes";
  } catch (const HipError &error) {
    EXPECT_TRUE(error.isOutOfMemory()) << error.what();
    EXPECT_CONTAINS(error.what(), "'oversized test buffer' needs");
    EXPECT_CONTAINS(error.what(), fmt::format("({} bytes)", tooMuch));
    EXPECT_CONTAINS(error.what(), " free of ");
    std::cout << "GRETA_OOM_MESSAGE " << error.what() << "\n";
  }
  EXPECT_NO_THROW(DeviceBuffer(*api_, 1 << 20, "after out of memory"));
}

// Tests that module errors name the kernel and the entry point.
TEST_F(HipGpuTest, ModuleErrorsNameKernelAndEntry) {
  CompiledKernel compiled = compiler_->compile({"greta_test_scale", test::kScaleSource, {}});
  Module module(*api_, compiled.code, "greta_test_scale");
  try {
    module.function("missing_entry");
    FAIL() << "no exception";
  } catch (const HipError &error) {
    EXPECT_CONTAINS(error.what(), "kernel 'greta_test_scale': entry point 'missing_entry' not found");
  }
  // A code object for another architecture (a bundle's ahead-of-time code for another GPU).
  bool nvidia = platform_->vendor == Vendor::Nvidia;
  std::string otherArch = nvidia ? (platform_->device.arch == "sm_80" ? "sm_90" : "sm_80")
                                 : (platform_->device.arch == "gfx90a" ? "gfx942" : "gfx90a");
  KernelCompilerOptions options;
  options.cacheDirectory = cache_.path();
  KernelCompiler other(platform_->compiler,
                       {platform_->vendor, otherArch, platform_->device.warpSize}, options);
  CompiledKernel foreign = other.compile({"greta_test_scale", test::kScaleSource, {}});
  try {
    Module bad(*api_, foreign.code, "greta_test_scale." + otherArch);
    FAIL() << "a code object for " << otherArch << " loaded on " << platform_->device.arch;
  } catch (const HipError &error) {
    EXPECT_CONTAINS(error.what(), fmt::format("kernel 'greta_test_scale.{}': loading its code "
                                              "object ({} bytes) failed",
                                              otherArch, foreign.code.size()));
    std::cout << "GRETA_BAD_CODE_OBJECT_MESSAGE " << error.what() << "\n";
  }
}

// Figures for the summary: vector-add bandwidth and compile time, cold and cached.
TEST_F(HipGpuTest, Benchmarks) {
  auto started = std::chrono::steady_clock::now();
  CompiledKernel cold = compiler_->compile({"greta_test_row_reduce", test::kRowReduceSource, {}});
  auto compiled = std::chrono::steady_clock::now();
  CompiledKernel cached = compiler_->compile({"greta_test_row_reduce", test::kRowReduceSource, {}});
  auto loaded = std::chrono::steady_clock::now();
  EXPECT_EQ(cold.cache, CacheOutcome::Miss);
  EXPECT_EQ(cached.cache, CacheOutcome::Hit);
  using Ms = std::chrono::duration<double, std::milli>;
  std::cout << fmt::format("GRETA_BENCH kernel compile (row_reduce, {}): cold {:.1f} ms, cached "
                           "{:.2f} ms\n",
                           platform_->device.arch, Ms(compiled - started).count(),
                           Ms(loaded - compiled).count());

  hipFunction_t add = load("greta_test_vector_add", test::kVectorAddSource);
  constexpr size_t kCount = size_t{1} << 26;
  constexpr int kWarmup = 3, kTimed = 20;
  DeviceBuffer a(*api_, kCount * 4, "a"), b(*api_, kCount * 4, "b"), out(*api_, kCount * 4, "out");
  Stream stream(*api_);
  Event start(*api_), stop(*api_);
  for (int i = 0; i < kWarmup + kTimed; ++i) {
    if (i == kWarmup)
      start.record(stream.get());
    launchKernel(*api_, add, {blocksFor(kCount)}, {kBlock}, 0, stream.get(), a.as<float>(),
                 b.as<float>(), out.as<float>(), static_cast<uint32_t>(kCount));
  }
  stop.record(stream.get());
  stop.synchronize();
  double perLaunchMs = Event::elapsedMilliseconds(start, stop) / kTimed;
  double gbPerSecond = 3.0 * kCount * sizeof(float) / (perLaunchMs * 1e6);
  std::cout << fmt::format("GRETA_BENCH vector_add f32 n=2^26: {:.1f} us/launch, {:.0f} GB/s "
                           "(bytes read + written)\n",
                           perLaunchMs * 1e3, gbPerSecond);
  EXPECT_GT(gbPerSecond, 0.0);
}

} // namespace
} // namespace greta::hip
