//===- bench_gpu_test.cpp - greta-bench --device hip on a tiny bundle ------===//
//
// GPU test (label `gpu`): runs the built greta-bench on the first tiny bundle of
// GRETA_GPU_BUNDLES (scripts/make-gpu-bundles.sh) on the GPU, as scripts/gpu-check.sh does on the
// 8B model, and checks what only the HIP path reports: the device copy bandwidth, GPU memory
// against weights + KV cache, the kernel-cache state (cold in a fresh cache folder, then warm),
// and a profile timed with events. Skips itself, saying why, without a GPU or the bundles.
//
//===----------------------------------------------------------------------===//
#include "runtime/hip/hip_platform.h"
#include "test/unit/hip/hip_test_support.h"
#include "test/unit/support/run_tool.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace greta::hip {
namespace {

using Json = nlohmann::json;

class BenchGpuTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::string skipReason;
    if (std::optional<HipPlatform> platform; !test::openSuitePlatform(platform, skipReason))
      GTEST_SKIP() << skipReason;
    const auto paths = test::gpuBundlePaths("", skipReason);
    if (paths.empty())
      GTEST_SKIP() << skipReason;
    bundle_ = std::filesystem::absolute(paths.front()).string();
  }

  /// greta-bench --device hip -o json on the bundle, with a kernel cache of its own.
  Json bench(const std::vector<std::string> &args) {
    std::vector<std::string> all = {bundle_, "--device", "hip", "-o", "json"};
    all.insert(all.end(), args.begin(), args.end());
    const greta::test::RunResult r =
        greta::test::runTool(std::string(GRETA_BIN_DIR) + "/greta-bench", all, dir_.path().string(),
                             "", {"GRETA_CACHE_DIR=" + (dir_.path() / "cache").string()});
    EXPECT_EQ(r.exitCode, 0) << r.err;
    return r.exitCode == 0 ? Json::parse(r.out) : Json();
  }

  std::string bundle_;
  test::TemporaryDirectory dir_;
};

// Tests the HIP path's report: a measured copy bandwidth, memory that holds at least the
// weights and KV cache, a cold kernel cache on the first load and a warm one on the second, and
// consistent rates.
TEST_F(BenchGpuTest, ReportsBandwidthMemoryAndCacheState) {
  const Json first = bench({"-p", "16", "-n", "8", "-r", "2"});
  ASSERT_TRUE(first.is_object());
  EXPECT_EQ(first["backend"], "hip");
  // Any GPU this runs on copies faster than 100 GB/s.
  EXPECT_GT(first["peak_bandwidth"]["bytes_per_second"].get<double>(), 100e9);
  const Json &memory = first["memory"];
  ASSERT_TRUE(memory.is_object()) << first.dump();
  EXPECT_GT(memory["weight_bytes"].get<uint64_t>(), 0u);
  EXPECT_GT(memory["kv_cache_bytes"].get<uint64_t>(), 0u);
  EXPECT_GE(memory["buffer_bytes"].get<uint64_t>(), memory["kv_cache_bytes"].get<uint64_t>());
  // The driver hands out memory in pages: what the load took is at least what it holds.
  EXPECT_GE(memory["device_used_bytes"].get<uint64_t>(),
            memory["weight_bytes"].get<uint64_t>() + memory["kv_cache_bytes"].get<uint64_t>());
  // Cold unless the bundle carries ahead-of-time code objects for this GPU.
  if (first["load"]["details"]["ahead_of_time"] == 0) {
    EXPECT_EQ(first["load"]["kernel_cache"].get<std::string>().rfind("cold", 0), 0u)
        << first["load"].dump();
  }
  EXPECT_GT(first["load"]["details"]["kernels"].get<uint64_t>(), 0u);

  const Json second = bench({"-n", "8", "-r", "1"});
  ASSERT_TRUE(second.is_object());
  EXPECT_EQ(second["load"]["kernel_cache"].get<std::string>().rfind("warm", 0), 0u)
      << second["load"].dump();

  for (const Json &test : first["tests"]) {
    const double tokens =
        test["prompt_tokens"].get<double>() + test["generated_tokens"].get<double>();
    EXPECT_NEAR(test["tokens_per_second"]["median"].get<double>(),
                tokens / test["median_seconds"].get<double>(), 1e-6 * tokens)
        << test.dump();
  }
}

// Tests that --profile on the GPU times every decode launch with events: one launch per plan
// launch and step, each with time, and the matmuls with weight bandwidth and FLOP/s.
TEST_F(BenchGpuTest, ProfileTimesEveryLaunch) {
  const Json report = bench({"-n", "8", "-r", "1", "--profile"});
  ASSERT_TRUE(report.is_object());
  const Json &profile = report["tests"][0]["profile"];
  bool matmul = false;
  for (const Json &row : profile["families"]) {
    if (row["phase"] != "decode")
      continue;
    EXPECT_GT(row["seconds"].get<double>(), 0) << row.dump();
    EXPECT_EQ(row["launches"].get<uint64_t>() % 8, 0u) << row.dump();
    if (row["family"] == "matmul") {
      matmul = true;
      EXPECT_GT(row["weight_bytes_per_second"].get<double>(), 0);
      EXPECT_GT(row["flops_per_second"].get<double>(), 0);
    }
  }
  EXPECT_TRUE(matmul) << profile.dump();
}

} // namespace
} // namespace greta::hip
