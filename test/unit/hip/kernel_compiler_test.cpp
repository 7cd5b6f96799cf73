// Tests of the kernel compiler and its disk cache with the real run-time compilers, which need
// no GPU: NVRTC for sm_90 (skipped where NVRTC is not installed), and hipRTC for a CDNA target
// where ROCm is installed.

#include "runtime/hip/kernel_compiler.h"
#include "runtime/hip/kernel_prelude.h"
#include "test/unit/hip/hip_test_support.h"
#include "test/unit/hip/test_kernels.h"

#include <gtest/gtest.h>

#include <fstream>

namespace greta::hip {
namespace {

using test::TemporaryDirectory;

/// ELF magic: CUBINs and AMD code objects are both ELF files.
bool isElf(const std::vector<uint8_t> &code) {
  return code.size() > 4 && code[0] == 0x7f && code[1] == 'E' && code[2] == 'L' && code[3] == 'F';
}

std::vector<uint8_t> readFile(const std::filesystem::path &path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void writeFile(const std::filesystem::path &path, const std::vector<uint8_t> &bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char *>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

class NvrtcCompilerTest : public ::testing::Test {
protected:
  void SetUp() override {
    try {
      compiler_ = openHipCompiler(Vendor::Nvidia);
    } catch (const Error &error) {
      GTEST_SKIP() << "NVRTC unavailable: " << error.what();
    }
  }
  /// A compiler for sm_90 whose cache is this test's own folder.
  KernelCompiler make(bool fastMath = false) {
    KernelCompilerOptions options;
    options.cacheDirectory = cacheDirectory_.path();
    options.fastMath = fastMath;
    return KernelCompiler(compiler_, {Vendor::Nvidia, "sm_90", 32}, options);
  }

  RtcCompiler compiler_;
  TemporaryDirectory cacheDirectory_;
};

// Tests that the prelude's vector add compiles to a CUBIN, and that the second compile of the
// same kernel is served from the cache with the same bytes.
TEST_F(NvrtcCompilerTest, VectorAddCompilesAndIsCached) {
  KernelCompiler kernels = make();
  KernelSource source{"greta_test_vector_add", test::kVectorAddSource, {}};
  CompiledKernel first = kernels.compile(source);
  EXPECT_TRUE(isElf(first.code));
  EXPECT_EQ(first.cache, CacheOutcome::Miss);
  EXPECT_TRUE(first.cacheProblem.empty()) << first.cacheProblem;
  EXPECT_TRUE(std::filesystem::exists(first.cachePath));
  EXPECT_EQ(first.cachePath.parent_path(), cacheDirectory_.path());

  CompiledKernel second = kernels.compile(source);
  EXPECT_EQ(second.cache, CacheOutcome::Hit);
  EXPECT_EQ(second.code, first.code);
  EXPECT_EQ(second.cachePath, first.cachePath);
}

// Tests the ahead-of-time key: the same for the same program, whatever the machine's include
// paths; different when the source, the target or the options (fast math) change.
TEST_F(NvrtcCompilerTest, CodeObjectKeyFollowsWhatIsCompiled) {
  const KernelSource source{"greta_test_vector_add", test::kVectorAddSource, {}};
  const std::string key = make().codeObjectKey(source);
  EXPECT_EQ(key.rfind("fnv1a64:", 0), 0u) << key;
  EXPECT_EQ(make().codeObjectKey(source), key);
  RtcCompiler elsewhere = compiler_;
  elsewhere.systemOptions = {"-I/some/other/cuda/include"};
  EXPECT_EQ(KernelCompiler(elsewhere, {Vendor::Nvidia, "sm_90", 32}, {}).codeObjectKey(source), key);
  EXPECT_NE(make(/*fastMath=*/true).codeObjectKey(source), key);
  EXPECT_NE(KernelCompiler(compiler_, {Vendor::Nvidia, "sm_80", 32}, {}).codeObjectKey(source), key);
  KernelSource edited = source;
  edited.source += "\n// edited\n";
  EXPECT_NE(make().codeObjectKey(edited), key);
}

// Tests that the block/warp reductions and the fp16 header compile, and the warp-size check.
TEST_F(NvrtcCompilerTest, ReductionKernelsCompile) {
  KernelCompiler kernels = make();
  EXPECT_TRUE(isElf(kernels.compile({"greta_test_row_reduce", test::kRowReduceSource, {}}).code));
  EXPECT_TRUE(isElf(kernels.compile({"greta_test_warp_sum", test::kWarpSumSource, {}}).code));
  EXPECT_NO_THROW(kernels.compile(
      {"warp_is_32", "#include \"greta_prelude.h\"\nstatic_assert(greta::kWarpSize == 32);\n", {}}));
}

// Tests the options every kernel gets: the exact architecture, the warp size, fp16 headers.
TEST_F(NvrtcCompilerTest, BaseOptions) {
  KernelCompiler kernels = make();
  const std::vector<std::string> &options = kernels.baseOptions();
  auto has = [&](std::string_view option) {
    return std::find(options.begin(), options.end(), option) != options.end();
  };
  EXPECT_TRUE(has("--gpu-architecture=sm_90a")); // Hopper's arch-specific variant: wgmma
  EXPECT_TRUE(has("-DGRETA_WARP_SIZE=32"));
  EXPECT_TRUE(has("-DGRETA_TARGET_NVIDIA=1"));
  EXPECT_TRUE(has("-std=c++17"));
  EXPECT_FALSE(has("--use_fast_math"));
  EXPECT_TRUE(std::any_of(options.begin(), options.end(),
                          [](const std::string &option) { return option.starts_with("-I"); }));
  KernelCompiler fast = make(/*fastMath=*/true);
  const std::vector<std::string> &fastOptions = fast.baseOptions();
  EXPECT_NE(std::find(fastOptions.begin(), fastOptions.end(), "--use_fast_math"), fastOptions.end());
}

// Tests that an entry whose code was altered, or which was truncated, is detected and rebuilt.
TEST_F(NvrtcCompilerTest, CorruptedEntryIsRecompiled) {
  KernelCompiler kernels = make();
  KernelSource source{"greta_test_vector_add", test::kVectorAddSource, {}};
  CompiledKernel original = kernels.compile(source);

  std::vector<uint8_t> file = readFile(original.cachePath);
  file[file.size() - 100] ^= 0x5a;
  writeFile(original.cachePath, file);
  CompiledKernel flipped = kernels.compile(source);
  EXPECT_EQ(flipped.cache, CacheOutcome::Corrupt);
  EXPECT_CONTAINS(flipped.cacheProblem, "code checksum mismatch");
  EXPECT_EQ(flipped.code, original.code);

  file = readFile(original.cachePath);
  file.resize(file.size() / 2);
  writeFile(original.cachePath, file);
  CompiledKernel truncated = kernels.compile(source);
  EXPECT_EQ(truncated.cache, CacheOutcome::Corrupt);
  EXPECT_CONTAINS(truncated.cacheProblem, "payload bytes");
  EXPECT_EQ(truncated.code, original.code);

  writeFile(original.cachePath, {'x'});
  EXPECT_EQ(kernels.compile(source).cache, CacheOutcome::Corrupt);
  EXPECT_EQ(kernels.compile(source).cache, CacheOutcome::Hit); // rewritten each time
}

// Tests that an entry made from other material under the same file name (a hash collision or a
// hand-copied file) is never served.
TEST_F(NvrtcCompilerTest, EntryFromOtherSourceIsNotServed) {
  KernelCompiler kernels = make();
  CompiledKernel add = kernels.compile({"k", test::kVectorAddSource, {}});
  CompiledKernel scale = kernels.compile({"k", test::kScaleSource, {}});
  ASSERT_NE(add.cachePath, scale.cachePath);
  std::filesystem::copy_file(scale.cachePath, add.cachePath,
                             std::filesystem::copy_options::overwrite_existing);
  CompiledKernel again = kernels.compile({"k", test::kVectorAddSource, {}});
  EXPECT_EQ(again.cache, CacheOutcome::Corrupt);
  EXPECT_CONTAINS(again.cacheProblem, "other source, options or compiler");
  EXPECT_EQ(again.code, add.code);
}

// Tests that options are part of the key.
TEST_F(NvrtcCompilerTest, OptionsArePartOfTheKey) {
  KernelCompiler kernels = make();
  CompiledKernel plain = kernels.compile({"k", test::kVectorAddSource, {}});
  CompiledKernel defined = kernels.compile({"k", test::kVectorAddSource, {"-DGRETA_TEST_FLAG=1"}});
  EXPECT_EQ(defined.cache, CacheOutcome::Miss);
  EXPECT_NE(defined.cachePath, plain.cachePath);
}

// Tests that a compile error names the kernel, compiler, target and options and carries the log;
// nothing is cached.
TEST_F(NvrtcCompilerTest, CompileErrorNamesKernelAndLog) {
  KernelCompiler kernels = make();
  KernelSource broken{"greta_test_broken",
                      "#include \"greta_prelude.h\"\nGRETA_KERNEL(64) broken(float *x) { x[0] = "
                      "undeclared_value; }\n",
                      {}};
  try {
    kernels.compile(broken);
    FAIL() << "no exception";
  } catch (const KernelCompileError &error) {
    std::string message = error.what();
    EXPECT_EQ(error.kernel(), "greta_test_broken");
    EXPECT_CONTAINS(message, "kernel 'greta_test_broken': NVRTC compilation for sm_90 failed");
    EXPECT_CONTAINS(message, "--gpu-architecture=sm_90");
    EXPECT_CONTAINS(error.log(), "undeclared_value");
    EXPECT_CONTAINS(message, error.log());
  }
  EXPECT_TRUE(std::filesystem::is_empty(cacheDirectory_.path()));
}

// Tests that the prelude refuses to compile without the target's warp size.
TEST_F(NvrtcCompilerTest, PreludeNeedsWarpSizeFromTarget) {
  KernelCompiler kernels = make();
  try {
    kernels.compile({"no_warp", test::kVectorAddSource, {"-UGRETA_WARP_SIZE"}});
    FAIL() << "no exception";
  } catch (const KernelCompileError &error) {
    EXPECT_CONTAINS(error.log(), "GRETA_WARP_SIZE must be defined by the kernel compiler");
  }
}

// Tests that impossible targets are refused before anything is compiled.
TEST_F(NvrtcCompilerTest, ImpossibleTargetsAreRefused) {
  EXPECT_THROW(KernelCompiler(compiler_, {Vendor::Nvidia, "gfx942", 32}), Error);
  EXPECT_THROW(KernelCompiler(compiler_, {Vendor::Nvidia, "sm_90", 64}), Error);
  EXPECT_THROW(KernelCompiler(compiler_, {Vendor::Amd, "gfx942", 64}), Error);
  EXPECT_THROW(KernelCompiler(compiler_, {Vendor::Nvidia, "sm_", 32}), Error);
}

// Tests that an empty cache folder disables the cache.
TEST_F(NvrtcCompilerTest, CacheCanBeDisabled) {
  KernelCompilerOptions options;
  options.cacheDirectory.clear();
  KernelCompiler kernels(compiler_, {Vendor::Nvidia, "sm_90", 32}, options);
  CompiledKernel compiled = kernels.compile({"k", test::kVectorAddSource, {}});
  EXPECT_EQ(compiled.cache, CacheOutcome::Disabled);
  EXPECT_TRUE(isElf(compiled.code));
}

// Tests that an unwritable cache folder costs only the cache, not the compile.
TEST_F(NvrtcCompilerTest, UnwritableCacheIsNotFatal) {
  KernelCompilerOptions options;
  options.cacheDirectory = "/proc/greta-cannot-create-this";
  KernelCompiler kernels(compiler_, {Vendor::Nvidia, "sm_90", 32}, options);
  CompiledKernel compiled = kernels.compile({"k", test::kVectorAddSource, {}});
  EXPECT_TRUE(isElf(compiled.code));
  EXPECT_CONTAINS(compiled.cacheProblem, "cannot create kernel cache folder");
}

// Tests where the cache lives by default.
TEST(KernelCacheDirectory, Environment) {
  test::ScopedEnvironment off("GRETA_KERNEL_CACHE", "off");
  EXPECT_TRUE(defaultKernelCacheDirectory().empty());
  test::ScopedEnvironment on("GRETA_KERNEL_CACHE", "on");
  test::ScopedEnvironment root("GRETA_CACHE_DIR", "/somewhere");
  EXPECT_EQ(defaultKernelCacheDirectory(), "/somewhere/kernels");
  test::ScopedEnvironment noRoot("GRETA_CACHE_DIR", "");
  test::ScopedEnvironment xdg("XDG_CACHE_HOME", "");
  test::ScopedEnvironment home("HOME", "/home/user");
  EXPECT_EQ(defaultKernelCacheDirectory(), "/home/user/.cache/greta/kernels");
}

// Tests that the prelude built into the runtime is the source file's text.
TEST(KernelPrelude, EmbeddedTextIsThePrelude) {
  EXPECT_CONTAINS(std::string(kernelPreludeSource()), "GRETA_WARP_SIZE");
  EXPECT_CONTAINS(std::string(kernelPreludeSource()), "warp_reduce_sum");
  EXPECT_EQ(kKernelPreludeName, "greta_prelude.h");
}

// Tests that the same prelude and kernels compile with hipRTC for a wave64 CDNA target.
TEST(HiprtcCompiler, KernelsCompileForCdna) {
  RtcCompiler compiler;
  try {
    compiler = openHipCompiler(Vendor::Amd);
  } catch (const Error &error) {
    GTEST_SKIP() << "hipRTC unavailable: " << error.what();
  }
  TemporaryDirectory cache;
  KernelCompilerOptions options;
  options.cacheDirectory = cache.path();
  KernelCompiler kernels(compiler, {Vendor::Amd, "gfx90a", 64}, options);
  for (const KernelSource &source :
       {KernelSource{"greta_test_vector_add", test::kVectorAddSource, {}},
        KernelSource{"greta_test_row_reduce", test::kRowReduceSource, {}},
        KernelSource{"greta_test_warp_sum", test::kWarpSumSource, {}},
        KernelSource{"warp_is_64",
                     "#include \"greta_prelude.h\"\nstatic_assert(greta::kWarpSize == 64);\n",
                     {}}}) {
    CompiledKernel compiled = kernels.compile(source);
    EXPECT_FALSE(compiled.code.empty()) << source.name;
    EXPECT_EQ(kernels.compile(source).cache, CacheOutcome::Hit) << source.name;
  }
}

} // namespace
} // namespace greta::hip
