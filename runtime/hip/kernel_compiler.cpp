#include "runtime/hip/kernel_compiler.h"

#include "runtime/hip/kernel_prelude.h"
#include "runtime/support/fnv1a.h"

#include <fmt/format.h>

#include <array>
#include <cctype>
#include <span>

namespace greta::hip {
namespace {

/// Version of the key layout below; bump it when the layout or the option set changes meaning.
constexpr std::string_view kMaterialVersion = "greta-kernel-material 1";
/// Version of codeObjectKey's layout; bump it when the layout or the option set changes meaning.
constexpr std::string_view kCodeObjectKeyVersion = "greta-code-object-key 1";

/// "sm_90", "sm_90a", "sm_100f"; "gfx942", "gfx90a", "gfx1100".
bool archSuitsVendor(std::string_view arch, Vendor vendor) {
  std::string_view prefix = vendor == Vendor::Nvidia ? "sm_" : "gfx";
  if (!arch.starts_with(prefix) || arch.size() == prefix.size())
    return false;
  std::string_view rest = arch.substr(prefix.size());
  if (!std::isdigit(static_cast<unsigned char>(rest.front())))
    return false;
  for (char c : rest) {
    if (!std::isalnum(static_cast<unsigned char>(c)))
      return false;
  }
  return true;
}

/// The architecture NVRTC compiles an sm_XY target for: Hopper's arch-specific sm_90a, whose
/// warpgroup matrix instructions (wgmma) the prefill products use; its CUBIN runs on compute
/// capability 9.0 only, the GPU "sm_90" names. Others as they are.
std::string nvrtcArchitecture(const std::string &arch) {
  return arch == "sm_90" ? "sm_90a" : arch;
}

/// Appends `field` with its length first, so no two field lists give the same bytes.
void appendField(std::string &material, std::string_view field) {
  material += fmt::format("{}:", field.size());
  material += field;
  material += '\n';
}

std::string programLog(const HipApi &api, hiprtcProgram program) {
  size_t size = 0;
  if (api.hiprtcGetProgramLogSize(program, &size) != HIPRTC_SUCCESS || size == 0)
    return {};
  std::string log(size, '\0');
  if (api.hiprtcGetProgramLog(program, log.data()) != HIPRTC_SUCCESS)
    return {};
  while (!log.empty() && (log.back() == '\0' || log.back() == '\n'))
    log.pop_back();
  return log;
}

/// Destroys a hipRTC program on every path.
class ProgramGuard {
public:
  ProgramGuard(const HipApi &api, hiprtcProgram program) : api_(api), program_(program) {}
  ProgramGuard(const ProgramGuard &) = delete;
  ProgramGuard &operator=(const ProgramGuard &) = delete;
  ~ProgramGuard() {
    if (program_)
      (void)api_.hiprtcDestroyProgram(&program_);
  }

private:
  const HipApi &api_;
  hiprtcProgram program_;
};

} // namespace

KernelTarget KernelTarget::of(const HipPlatform &platform) {
  return {platform.vendor, platform.device.arch, platform.device.warpSize};
}

KernelCompiler::KernelCompiler(RtcCompiler compiler, KernelTarget target,
                               KernelCompilerOptions options)
    : compiler_(std::move(compiler)), target_(std::move(target)) {
  if (!compiler_.api)
    fail("kernel compiler: no run-time compiler was opened");
  if (compiler_.vendor != target_.vendor)
    fail("kernel compiler: {} cannot compile for an {} target ({})", compiler_.name,
         vendorName(target_.vendor), target_.arch);
  if (!archSuitsVendor(target_.arch, target_.vendor))
    fail("kernel compiler: target '{}' is not an {} architecture (expected {})", target_.arch,
         vendorName(target_.vendor), target_.vendor == Vendor::Nvidia ? "sm_XY" : "gfxNNN");
  bool warpOk = target_.vendor == Vendor::Nvidia ? target_.warpSize == 32
                                                 : target_.warpSize == 32 || target_.warpSize == 64;
  if (!warpOk)
    fail("kernel compiler: warp size {} is impossible for {} target {}", target_.warpSize,
         vendorName(target_.vendor), target_.arch);

  if (target_.vendor == Vendor::Nvidia) {
    // -default-device: helpers need no __device__; CUBIN for exactly this GPU, no PTX JIT.
    baseOptions_ = {"--gpu-architecture=" + nvrtcArchitecture(target_.arch), "-default-device",
                    "-std=c++17", "-DGRETA_TARGET_NVIDIA=1"};
    if (options.fastMath)
      baseOptions_.emplace_back("--use_fast_math");
  } else {
    baseOptions_ = {"--offload-arch=" + target_.arch, "-std=c++17", "-DGRETA_TARGET_AMD=1"};
    if (options.fastMath)
      baseOptions_.emplace_back("-ffast-math");
  }
  baseOptions_.push_back(fmt::format("-DGRETA_WARP_SIZE={}", target_.warpSize));
  portableOptions_ = baseOptions_.size();
  for (const std::string &option : compiler_.systemOptions)
    baseOptions_.push_back(option);
  if (!options.cacheDirectory.empty())
    cache_.emplace(options.cacheDirectory);
}

std::vector<uint8_t> KernelCompiler::build(const KernelSource &kernel,
                                           const std::vector<std::string> &options,
                                           std::string &log) const {
  const HipApi &api = *compiler_.api;
  std::string prelude(kernelPreludeSource());
  std::string preludeName(kKernelPreludeName);
  std::array<const char *, 1> headers = {prelude.c_str()};
  std::array<const char *, 1> includeNames = {preludeName.c_str()};
  std::string fileName = kernel.name + ".hip";

  hiprtcProgram program = nullptr;
  GRETA_HIP_CHECK(api, hiprtcCreateProgram(&program, kernel.source.c_str(), fileName.c_str(),
                                           /*headerCount=*/1, headers.data(),
                                           includeNames.data()));
  ProgramGuard guard(api, program);

  std::vector<const char *> argv;
  for (const std::string &option : options)
    argv.push_back(option.c_str());
  hiprtcResult result = api.hiprtcCompileProgram(program, static_cast<int>(argv.size()),
                                                 argv.data());
  log = programLog(api, program);
  if (result != HIPRTC_SUCCESS) {
    const char *reason = api.hiprtcGetErrorString(result);
    throw KernelCompileError(
        fmt::format("kernel '{}': {} compilation for {} failed ({})\noptions: {}\ncompiler log:\n{}",
                    kernel.name, compiler_.name, target_.arch, reason ? reason : "no reason given",
                    fmt::join(options, " "), log.empty() ? "(empty)" : log),
        kernel.name, log);
  }

  size_t size = 0;
  GRETA_HIP_CHECK(api, hiprtcGetCodeSize(program, &size));
  if (size == 0)
    fail("kernel '{}': {} produced no code for {}", kernel.name, compiler_.name, target_.arch);
  std::vector<uint8_t> code(size);
  GRETA_HIP_CHECK(api, hiprtcGetCode(program, reinterpret_cast<char *>(code.data())));
  return code;
}

std::string KernelCompiler::codeObjectKey(const KernelSource &kernel) const {
  std::string material;
  appendField(material, kCodeObjectKeyVersion);
  appendField(material, vendorName(target_.vendor));
  appendField(material, target_.arch);
  for (size_t i = 0; i < portableOptions_; ++i)
    appendField(material, baseOptions_[i]);
  for (const std::string &option : kernel.options)
    appendField(material, option);
  appendField(material, kernelPreludeSource());
  appendField(material, kernel.name);
  appendField(material, kernel.source);
  Fnv1a64 hash;
  hash.update(std::span(reinterpret_cast<const uint8_t *>(material.data()), material.size()));
  return formatFnv1a64(hash.value());
}

CompiledKernel KernelCompiler::compile(const KernelSource &kernel) const {
  std::vector<std::string> options = baseOptions_;
  options.insert(options.end(), kernel.options.begin(), kernel.options.end());

  std::string material;
  appendField(material, kMaterialVersion);
  appendField(material, compiler_.identity());
  appendField(material, vendorName(target_.vendor));
  appendField(material, target_.arch);
  for (const std::string &option : options)
    appendField(material, option);
  appendField(material, kernelPreludeSource());
  appendField(material, kernel.name);
  appendField(material, kernel.source);

  CompiledKernel compiled;
  compiled.name = kernel.name;
  if (cache_) {
    KernelCache::Lookup lookup = cache_->find(kernel.name, material);
    compiled.cachePath = lookup.path;
    compiled.cache = lookup.outcome;
    compiled.cacheProblem = lookup.problem;
    if (lookup.outcome == CacheOutcome::Hit) {
      compiled.code = std::move(lookup.code);
      return compiled;
    }
  }
  compiled.code = build(kernel, options, compiled.log);
  if (cache_) {
    std::string problem = cache_->store(kernel.name, material, compiled.code);
    if (!problem.empty())
      compiled.cacheProblem += (compiled.cacheProblem.empty() ? "" : "; ") + problem;
  }
  return compiled;
}

} // namespace greta::hip
