//===- code_objects.cpp - Ahead-of-time code objects for a bundle -----------===//
#include "runtime/hip/code_objects.h"

#include "runtime/bundle/manifest.h"
#include "runtime/hip/kernel_compiler.h"
#include "runtime/support/error.h"
#include "runtime/support/fnv1a.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <map>
#include <thread>

namespace greta::hip {
namespace {

Vendor vendorOf(const std::string &arch) {
  if (arch.starts_with("sm_"))
    return Vendor::Nvidia;
  if (arch.starts_with("gfx"))
    return Vendor::Amd;
  fail("code objects: '{}' is not a GPU target (sm_XY or gfxNNN)", arch);
}

/// Compiles `sources` for `target` on all cores; throws the first kernel's error.
std::map<std::string, CompiledKernel>
compileAll(const std::map<std::string, std::string> &sources, const CodeObjectTarget &target,
           std::map<std::string, std::string> &keys) {
  const Vendor vendor = vendorOf(target.arch);
  RtcCompiler rtc;
  try {
    rtc = openHipCompiler(vendor);
  } catch (const Error &e) {
    fail("code objects for {}: {}'s compiler is not available here: {}", target.arch,
         vendorName(vendor), e.what());
  }
  // No disk cache: a compile machine's cache would only fill up with other machines' targets.
  const KernelCompiler compiler(rtc, {vendor, target.arch, target.warpSize},
                                KernelCompilerOptions{.cacheDirectory = {}});
  std::vector<const std::pair<const std::string, std::string> *> work;
  for (const auto &entry : sources)
    work.push_back(&entry);
  std::vector<CompiledKernel> compiled(work.size());
  std::vector<std::exception_ptr> errors(work.size());
  std::atomic<size_t> next{0};
  auto run = [&] {
    for (size_t i; (i = next.fetch_add(1)) < work.size();) {
      try {
        compiled[i] = compiler.compile({work[i]->first, work[i]->second, {}});
      } catch (...) {
        errors[i] = std::current_exception();
      }
    }
  };
  // hipRTC from ROCm 5.x crashes when called from several threads at once: one at a time there.
  const size_t threads =
      vendor == Vendor::Amd
          ? 1
          : std::min<size_t>(std::max(1u, std::thread::hardware_concurrency()), work.size());
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t)
    pool.emplace_back(run);
  run();
  for (std::thread &thread : pool)
    thread.join();
  for (const std::exception_ptr &e : errors)
    if (e)
      std::rethrow_exception(e);
  std::map<std::string, CompiledKernel> byName;
  for (size_t i = 0; i < work.size(); ++i) {
    keys[work[i]->first] = compiler.codeObjectKey({work[i]->first, work[i]->second, {}});
    byName[work[i]->first] = std::move(compiled[i]);
  }
  return byName;
}

void addCodeObjects(bundle::BundleSpec &spec, const std::vector<CodeObjectTarget> &targets) {
  bundle::BundleSpec result = spec;
  for (const CodeObjectTarget &target : targets) {
    std::map<std::string, std::string> keys;
    std::map<std::string, CompiledKernel> compiled = compileAll(spec.kernelSources, target, keys);
    for (bundle::KernelSpec &kernel : result.manifest.kernels) {
      auto it = compiled.find(kernel.name);
      if (it == compiled.end())
        continue; // no source: nothing to compile
      std::vector<uint8_t> &code = it->second.code;
      Fnv1a64 checksum;
      checksum.update(std::span<const uint8_t>(code));
      bundle::CodeObjectEntry entry;
      entry.target = target.arch;
      entry.file = fmt::format("{}/{}.{}.co", bundle::kKernelsDir, kernel.name, target.arch);
      entry.key = keys.at(kernel.name);
      entry.bytes = code.size();
      entry.checksum = formatFnv1a64(checksum.value());
      if (!result.codeObjectFiles.emplace(entry.file, std::move(code)).second)
        fail("code objects: target {} is named twice", target.arch);
      kernel.codeObjects.push_back(std::move(entry));
    }
  }
  spec = std::move(result);
}

} // namespace

bool tryAddCodeObjects(bundle::BundleSpec &spec, const std::vector<CodeObjectTarget> &targets,
                       std::string *error) noexcept {
  try {
    addCodeObjects(spec, targets);
    return true;
  } catch (const std::exception &e) {
    if (error)
      *error = e.what();
  } catch (...) {
    if (error)
      *error = "code objects: unknown error";
  }
  return false;
}

} // namespace greta::hip
