//===- emitted_kernels_test.cpp - Every emitted kernel compiles ------------===//
//
// Compiles every HIP kernel greta-compile emits, with the options the runtime's kernel
// compiler uses (runtime/hip/kernel_compiler.h), for:
//   - NVIDIA sm_90 with NVRTC (runs without a GPU);
//   - AMD gfx90a with hipRTC where the installed one compiles (Debian's ROCm 5.2 does).
// Each library is opened at run time; a missing one skips its tests with the reason. A kernel
// that fails, or compiles with warnings, fails the test with the compiler's log.
//
// Models: tiny greta-synth models in f32, q8_0 and q4_k_m (the last with Llama-3.1 rope_freqs
// and tied embeddings) compiled to bundles whose kernels/ are checked; and the Llama-3-8B
// shape, whose GGUF (4.9 GB) is not written: the test writes the importer's @forward for the
// 8B shape and q4_k_m types as IR and runs the pipeline passes with greta-opt.
//
//===----------------------------------------------------------------------===//

#include <gtest/gtest.h>

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

//===--- Run-time compilers -------------------------------------------------===//

/// The part of the NVRTC / hipRTC C API the test calls; both have the same shape.
struct RtcApi {
  using CreateFn = int (*)(void **, const char *, const char *, int, const char *const *,
                           const char *const *);
  using CompileFn = int (*)(void *, int, const char *const *);
  using LogSizeFn = int (*)(void *, size_t *);
  using LogFn = int (*)(void *, char *);
  using DestroyFn = int (*)(void **);
  CreateFn create = nullptr;
  CompileFn compile = nullptr;
  LogSizeFn logSize = nullptr;
  LogFn log = nullptr;
  DestroyFn destroy = nullptr;
};

struct Compiler {
  std::string name;    ///< "NVRTC sm_90"
  std::string library; ///< the path that opened
  RtcApi api;
  std::vector<std::string> options;
};

/// Opens the first of `paths` that has every symbol, with `prefix` ("nvrtc" or "hiprtc").
std::unique_ptr<Compiler> openCompiler(const std::string &name,
                                       const std::vector<std::string> &paths,
                                       const std::string &prefix, std::string &why) {
  for (const std::string &path : paths) {
    void *handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      why += "\n  " + path + ": " + dlerror();
      continue;
    }
    auto compiler = std::make_unique<Compiler>();
    auto symbol = [&](const char *suffix) { return dlsym(handle, (prefix + suffix).c_str()); };
    compiler->api.create = reinterpret_cast<RtcApi::CreateFn>(symbol("CreateProgram"));
    compiler->api.compile = reinterpret_cast<RtcApi::CompileFn>(symbol("CompileProgram"));
    compiler->api.logSize = reinterpret_cast<RtcApi::LogSizeFn>(symbol("GetProgramLogSize"));
    compiler->api.log = reinterpret_cast<RtcApi::LogFn>(symbol("GetProgramLog"));
    compiler->api.destroy = reinterpret_cast<RtcApi::DestroyFn>(symbol("DestroyProgram"));
    if (!compiler->api.create || !compiler->api.compile || !compiler->api.logSize ||
        !compiler->api.log || !compiler->api.destroy) {
      why += "\n  " + path + ": no " + prefix + "CreateProgram/CompileProgram/... symbols";
      continue;
    }
    compiler->name = name;
    compiler->library = path;
    return compiler;
  }
  return nullptr;
}

std::string readFile(const fs::path &path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

struct CompileResult {
  bool ok = false;
  std::string log;
};

/// Compiles `source` with the prelude as an in-memory header, as the runtime does.
CompileResult compile(const Compiler &compiler, const std::string &source,
                      const std::string &fileName) {
  static const std::string prelude = readFile(GRETA_PRELUDE_PATH);
  const char *headers[] = {prelude.c_str()};
  const char *names[] = {"greta_prelude.h"};
  void *program = nullptr;
  CompileResult result;
  if (compiler.api.create(&program, source.c_str(), fileName.c_str(), 1, headers, names) != 0) {
    result.log = "CreateProgram failed";
    return result;
  }
  std::vector<const char *> argv;
  for (const std::string &option : compiler.options)
    argv.push_back(option.c_str());
  int code = compiler.api.compile(program, static_cast<int>(argv.size()), argv.data());
  size_t size = 0;
  compiler.api.logSize(program, &size);
  std::string log(size, '\0');
  if (size > 0)
    compiler.api.log(program, log.data());
  while (!log.empty() && (log.back() == '\0' || log.back() == '\n'))
    log.pop_back();
  compiler.api.destroy(&program);
  result.ok = code == 0;
  result.log = log;
  return result;
}

/// The CUDA include folder (for cuda_fp16.h): $CUDA_HOME/include, else /usr/local/cuda/include.
std::string cudaInclude() {
  std::vector<std::string> candidates;
  if (const char *home = std::getenv("CUDA_HOME"))
    candidates.push_back(std::string(home) + "/include");
  candidates.push_back("/usr/local/cuda/include");
  for (const std::string &folder : candidates)
    if (fs::exists(fs::path(folder) / "cuda_fp16.h"))
      return folder;
  return {};
}

std::vector<std::string> nvrtcPaths() {
  std::vector<std::string> paths;
  if (const char *home = std::getenv("CUDA_HOME"))
    paths.push_back(std::string(home) + "/lib64/libnvrtc.so");
  for (const char *path :
       {"/usr/local/cuda/lib64/libnvrtc.so", "libnvrtc.so", "libnvrtc.so.13", "libnvrtc.so.12"})
    paths.emplace_back(path);
  return paths;
}

/// A trivial kernel through the prelude: when it does not compile, the compiler (not GRETA's
/// code) is what is missing, and the tests skip.
constexpr const char *kCanary =
    "#include \"greta_prelude.h\"\n"
    "GRETA_KERNEL(64) canary(float *x) { x[threadIdx.x] = greta::warp_reduce_sum(1.0f); }\n";

/// The compilers the test uses, opened once; `skip` says why one is absent.
struct Compilers {
  std::unique_ptr<Compiler> nvrtc;
  std::string nvrtcSkip;
  std::unique_ptr<Compiler> hiprtc;
  std::string hiprtcSkip;

  static const Compilers &get() {
    static const Compilers compilers = open();
    return compilers;
  }

private:
  static Compilers open() {
    Compilers c;
    std::string why;
    c.nvrtc = openCompiler("NVRTC sm_90", nvrtcPaths(), "nvrtc", why);
    std::string include = cudaInclude();
    if (!c.nvrtc) {
      c.nvrtcSkip = "NVRTC is not installed (tried:" + why + ")";
    } else if (include.empty()) {
      c.nvrtcSkip =
          "NVRTC found at " + c.nvrtc->library + " but not CUDA's cuda_fp16.h (set CUDA_HOME)";
      c.nvrtc.reset();
    } else {
      c.nvrtc->options = {"--gpu-architecture=sm_90a", "-default-device",     "-std=c++17",
                          "-DGRETA_TARGET_NVIDIA=1",  "-DGRETA_WARP_SIZE=32", "-I" + include};
      CompileResult canary = compile(*c.nvrtc, kCanary, "canary.hip");
      if (!canary.ok) {
        c.nvrtcSkip =
            "NVRTC at " + c.nvrtc->library + " cannot compile a trivial kernel: " + canary.log;
        c.nvrtc.reset();
      }
    }
    why.clear();
    c.hiprtc = openCompiler("hipRTC gfx90a",
                            {"libhiprtc.so", "libhiprtc.so.6", "libamdhip64.so", "libamdhip64.so.6",
                             "libamdhip64.so.5"},
                            "hiprtc", why);
    if (!c.hiprtc) {
      c.hiprtcSkip = "hipRTC is not installed (tried:" + why + ")";
    } else {
      c.hiprtc->options = {"--offload-arch=gfx90a", "-std=c++17", "-DGRETA_TARGET_AMD=1",
                           "-DGRETA_WARP_SIZE=64"};
      CompileResult canary = compile(*c.hiprtc, kCanary, "canary.hip");
      if (!canary.ok) {
        c.hiprtcSkip =
            "hipRTC at " + c.hiprtc->library + " does not compile for gfx90a here: " + canary.log;
        c.hiprtc.reset();
      }
    }
    return c;
  }
};

//===--- Kernel sources ------------------------------------------------------===//

/// Runs `command` (through the shell); its output goes to `log`.
bool run(const std::string &command, const fs::path &log) {
  std::string line = command + " > " + log.string() + " 2>&1";
  return std::system(line.c_str()) == 0;
}

std::string bin(const std::string &tool) { return std::string(GRETA_BIN_DIR) + "/" + tool; }

fs::path scratchDir(const std::string &name) {
  fs::path dir = fs::temp_directory_path() / ("greta-emitted-kernels-" + std::to_string(getpid()));
  fs::create_directories(dir / name);
  return dir / name;
}

/// The importer's @forward for a Llama-3-8B shape with llama.cpp's q4_k_m types: 32 layers of
/// dim 4096, 32 heads (8 KV heads of 128), FFN 14336, vocabulary 128256.
std::string llama3_8bForward() {
  constexpr int kLayers = 32, kDim = 4096, kHeads = 32, kKVHeads = 8, kHeadDim = 128;
  constexpr int kFfn = 14336, kVocab = 128256, kKV = kKVHeads * kHeadDim;
  // llama.cpp's q4_k_m: attn_v and ffn_down of the "more bits" layers in Q6_K.
  auto moreBits = [](int layer) {
    return layer < kLayers / 8 || layer >= 7 * kLayers / 8 || (layer - kLayers / 8) % 3 == 2;
  };
  std::ostringstream ir;
  ir << "module attributes {greta.model = #greta.model<layers = " << kLayers
     << ", dim = 4096, heads = 32, kv_heads = 8, ffn = 14336, vocab = 128256, context = 8192,"
        " rope_theta = 5.0e5, eps = 1.0e-5, tied = false>} {\n";
  auto weight = [&](const std::string &symbol, const std::string &shape, const std::string &type,
                    const std::string &gguf) {
    ir << "  greta.weight @" << symbol << " : !greta.weight<" << shape << ", " << type
       << "> {gguf_name = \"" << gguf << "\"}\n";
  };
  weight("token_embd", "4096x128256", "q4_k", "token_embd.weight");
  for (int l = 0; l < kLayers; ++l) {
    std::string b = "blk" + std::to_string(l) + "_", g = "blk." + std::to_string(l) + ".";
    std::string heavy = moreBits(l) ? "q6_k" : "q4_k";
    weight(b + "attn_norm", "4096", "f32", g + "attn_norm.weight");
    weight(b + "attn_q", "4096x4096", "q4_k", g + "attn_q.weight");
    weight(b + "attn_k", "4096x1024", "q4_k", g + "attn_k.weight");
    weight(b + "attn_v", "4096x1024", heavy, g + "attn_v.weight");
    weight(b + "attn_output", "4096x4096", "q4_k", g + "attn_output.weight");
    weight(b + "ffn_norm", "4096", "f32", g + "ffn_norm.weight");
    weight(b + "ffn_gate", "4096x14336", "q4_k", g + "ffn_gate.weight");
    weight(b + "ffn_up", "4096x14336", "q4_k", g + "ffn_up.weight");
    weight(b + "ffn_down", "14336x4096", heavy, g + "ffn_down.weight");
    ir << "  greta.kv_cache @kv" << l << " : !greta.kv<ctx = 8192, kv_heads = " << kKVHeads
       << ", head_dim = " << kHeadDim << ", dtype = f32>\n";
  }
  weight("output_norm", "4096", "f32", "output_norm.weight");
  weight("output", "4096x128256", "q6_k", "output.weight");

  auto rows = [](int cols) { return "tensor<?x" + std::to_string(cols) + "xf32>"; };
  ir << "  func.func @forward(%tok: tensor<?xi32>, %pos: tensor<?xi32>) -> " << rows(kVocab)
     << " {\n";
  ir << "    %x0 = greta.embedding %tok, @token_embd : tensor<?xi32> -> " << rows(kDim) << "\n";
  for (int l = 0; l < kLayers; ++l) {
    std::string b = "@blk" + std::to_string(l) + "_", v = "%l" + std::to_string(l) + "_";
    std::string x = "%x" + std::to_string(l), next = "%x" + std::to_string(l + 1);
    auto matmul = [&](const std::string &out, const std::string &in, const std::string &w, int k,
                      int n) {
      ir << "    " << v << out << " = greta.matmul " << in << ", " << b << w << " : " << rows(k)
         << " -> " << rows(n) << "\n";
    };
    ir << "    " << v << "n = greta.rms_norm " << x << ", " << b
       << "attn_norm eps = 1.0e-5 : " << rows(kDim) << "\n";
    matmul("q", v + "n", "attn_q", kDim, kDim);
    matmul("k", v + "n", "attn_k", kDim, kKV);
    matmul("v", v + "n", "attn_v", kDim, kKV);
    ir << "    " << v << "qr = greta.rope " << v << "q, %pos heads = " << kHeads
       << " head_dim = 128 theta = 5.0e5 : " << rows(kDim) << ", tensor<?xi32>\n";
    ir << "    " << v << "kr = greta.rope " << v << "k, %pos heads = " << kKVHeads
       << " head_dim = 128 theta = 5.0e5 : " << rows(kKV) << ", tensor<?xi32>\n";
    ir << "    greta.kv_append " << v << "kr, " << v << "v, %pos into @kv" << l << " : "
       << rows(kKV) << ", tensor<?xi32>\n";
    ir << "    " << v << "a = greta.attention " << v << "qr, %pos from @kv" << l
       << " heads = 32 kv_heads = 8 causal : " << rows(kDim) << ", tensor<?xi32>\n";
    matmul("o", v + "a", "attn_output", kDim, kDim);
    ir << "    " << v << "h = greta.add " << x << ", " << v << "o : " << rows(kDim) << "\n";
    ir << "    " << v << "n2 = greta.rms_norm " << v << "h, " << b
       << "ffn_norm eps = 1.0e-5 : " << rows(kDim) << "\n";
    matmul("g", v + "n2", "ffn_gate", kDim, kFfn);
    matmul("u", v + "n2", "ffn_up", kDim, kFfn);
    ir << "    " << v << "gu = greta.silu_mul " << v << "g, " << v << "u : " << rows(kFfn) << "\n";
    matmul("d", v + "gu", "ffn_down", kFfn, kDim);
    ir << "    " << next << " = greta.add " << v << "h, " << v << "d : " << rows(kDim) << "\n";
  }
  ir << "    %f = greta.rms_norm %x" << kLayers << ", @output_norm eps = 1.0e-5 : " << rows(kDim)
     << "\n";
  ir << "    %logits = greta.lm_head %f, @output : " << rows(kDim) << " -> " << rows(kVocab)
     << "\n";
  ir << "    return %logits : " << rows(kVocab) << "\n  }\n}\n";
  return ir.str();
}

/// Where a model's kernels come from.
struct ModelCase {
  std::string name;
  /// Emits the model's kernels under `dir`; returns the folder holding the .hip files, or
  /// nothing with `log` naming the file that says why.
  std::function<std::optional<fs::path>(const fs::path &dir, fs::path &log)> emit;
};

/// A tiny greta-synth model compiled to a bundle; its kernels are the bundle's kernels/.
/// `targets` are the bundle's: with a GPU among them the gemm route runs on matrix units
/// (matmul_mma), for `cpu` alone on vector ALUs (matmul_gemm, the portable fallback).
ModelCase tinyModel(const std::string &quant, const std::string &synthFlags,
                    const std::string &targets = "cpu,sm_90,gfx90a") {
  return {"tiny_" + quant + (synthFlags.empty() ? "" : "_rope_freqs") +
              (targets == "cpu" ? "_cpu_target" : ""),
          [=](const fs::path &dir, fs::path &log) -> std::optional<fs::path> {
            fs::path gguf = dir / "model.gguf";
            log = dir / "tools.log";
            bool ok = run(bin("greta-synth") + " --preset tiny --quant " + quant + " " +
                              synthFlags + " -o " + gguf.string(),
                          log) &&
                      run(bin("greta-compile") + " " + gguf.string() +
                              " --target " + targets + " --code-objects=false -o " +
                              (dir / "model.greta").string(),
                          log);
            if (!ok)
              return std::nullopt;
            return dir / "model.greta" / "kernels";
          }};
}

/// The Llama-3-8B shape, through greta-opt (no GGUF is written).
ModelCase llama3_8b() {
  return {"llama3_8b_q4_k_m", [](const fs::path &dir, fs::path &log) -> std::optional<fs::path> {
            fs::path ir = dir / "forward.mlir";
            std::ofstream(ir) << llama3_8bForward();
            log = dir / "greta-opt.log";
            if (!run(bin("greta-opt") + " " + ir.string() +
                         " --greta-specialize-phases --greta-insert-audit --greta-fuse"
                         " --greta-select-routes --greta-lower-to-kernels"
                         " --greta-emit-hip=output-dir=" +
                         (dir / "kernels").string() + " -o " + (dir / "kernels.mlir").string(),
                     log))
              return std::nullopt;
            return dir / "kernels";
          }};
}

std::vector<ModelCase> models() {
  return {tinyModel("f32", ""), tinyModel("q8_0", ""),
          tinyModel("q4_k_m", "--rope-scaling llama3 --tied-embeddings"),
          tinyModel("q4_k_m", "", "cpu"), llama3_8b()};
}

//===--- Tests ---------------------------------------------------------------===//

class EmittedKernels : public ::testing::TestWithParam<std::tuple<ModelCase, bool /*amd*/>> {};

TEST_P(EmittedKernels, CompileWithoutWarnings) {
  const auto &[model, amd] = GetParam();
  const Compilers &compilers = Compilers::get();
  const Compiler *compiler = amd ? compilers.hiprtc.get() : compilers.nvrtc.get();
  if (!compiler)
    GTEST_SKIP() << (amd ? compilers.hiprtcSkip : compilers.nvrtcSkip);

  fs::path dir = scratchDir(model.name + (amd ? "_amd" : "_nvidia"));
  fs::path log;
  std::optional<fs::path> kernelDir = model.emit(dir, log);
  ASSERT_TRUE(kernelDir) << "emitting " << model.name << " failed:\n" << readFile(log);
  std::vector<fs::path> kernels;
  for (const fs::directory_entry &entry : fs::directory_iterator(*kernelDir))
    if (entry.path().extension() == ".hip")
      kernels.push_back(entry.path());
  std::sort(kernels.begin(), kernels.end());
  ASSERT_GE(kernels.size(), 20u) << "a Llama model emits one kernel per distinct op and phase";
  // A bundle's manifest tells the runtime how to pack each kernel's Params.
  fs::path manifest = kernelDir->parent_path() / "manifest.json";
  if (fs::exists(manifest)) {
    std::string text = readFile(manifest);
    size_t described = 0;
    for (size_t at = text.find("\"param_fields\""); at != std::string::npos;
         at = text.find("\"param_fields\"", at + 1))
      ++described;
    EXPECT_EQ(described, kernels.size()) << "every kernel of " << manifest << " has param_fields";
    // The kernels that wait for their producers may start early; the others (split-KV
    // attention, the gate_up GEMV) only let the next launch start early.
    size_t early = 0, waiting = 0;
    for (size_t at = text.find("\"early_start\": true"); at != std::string::npos;
         at = text.find("\"early_start\": true", at + 1))
      ++early;
    for (const fs::path &kernel : kernels)
      waiting += readFile(kernel).find("wait_for_producers();") != std::string::npos;
    EXPECT_EQ(early, waiting) << "the kernels of " << manifest << " that may start early";
  }
  for (const fs::path &kernel : kernels) {
    const std::string source = readFile(kernel);
    const bool launchedAfter = source.find("attention_split_kv.hip") != std::string::npos ||
                               source.find("family matmul_gate_up, route gemv") != std::string::npos;
    EXPECT_NE(source.find(launchedAfter ? "let_dependents_start();" : "wait_for_producers();"),
              std::string::npos)
        << kernel << (launchedAfter ? " does not let its dependents start"
                                    : " does not wait for its producers");
  }
  for (const fs::path &kernel : kernels) {
    CompileResult result = compile(*compiler, readFile(kernel), kernel.filename().string());
    EXPECT_TRUE(result.ok) << compiler->name << " rejects " << kernel << ":\n" << result.log;
    EXPECT_TRUE(result.log.find("warning") == std::string::npos)
        << compiler->name << " warns about " << kernel << ":\n"
        << result.log;
  }
  RecordProperty("kernels", static_cast<int>(kernels.size()));
  fs::remove_all(dir);
}

/// Kernel sources an earlier greta-compile emitted (test/data/old-kernels) still compile: a
/// bundle's sources are compiled against the runtime's current prelude, so a prelude change
/// that breaks them breaks every bundle written before it (session 8's final commit did: its
/// half_bits_to_float clashed with the one older sources define).
class OlderBundleSources : public ::testing::TestWithParam<bool /*amd*/> {};

TEST_P(OlderBundleSources, CompileAgainstTheCurrentPrelude) {
  const bool amd = GetParam();
  const Compilers &compilers = Compilers::get();
  const Compiler *compiler = amd ? compilers.hiprtc.get() : compilers.nvrtc.get();
  if (!compiler)
    GTEST_SKIP() << (amd ? compilers.hiprtcSkip : compilers.nvrtcSkip);
  std::vector<fs::path> kernels;
  for (const fs::directory_entry &entry : fs::directory_iterator(GRETA_OLD_KERNELS_DIR))
    if (entry.path().extension() == ".hip")
      kernels.push_back(entry.path());
  std::sort(kernels.begin(), kernels.end());
  ASSERT_GE(kernels.size(), 2u) << GRETA_OLD_KERNELS_DIR << " holds the old sources";
  for (const fs::path &kernel : kernels) {
    CompileResult result = compile(*compiler, readFile(kernel), kernel.filename().string());
    EXPECT_TRUE(result.ok) << compiler->name << " rejects " << kernel << ":\n" << result.log;
  }
}

INSTANTIATE_TEST_SUITE_P(Targets, OlderBundleSources, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool> &info) {
                           return std::string(info.param ? "gfx90a" : "sm_90");
                         });

std::string caseName(const ::testing::TestParamInfo<EmittedKernels::ParamType> &info) {
  return std::get<0>(info.param).name + (std::get<1>(info.param) ? "_gfx90a" : "_sm_90");
}

INSTANTIATE_TEST_SUITE_P(Models, EmittedKernels,
                         ::testing::Combine(::testing::ValuesIn(models()), ::testing::Bool()),
                         caseName);

} // namespace
