//===- test_models.cpp - Temporary directories and tiny GGUF models for tests -===//
#include "test/unit/support/test_models.h"

#include "runtime/synth/synth_model.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <unistd.h>

namespace greta::test {
namespace {

namespace fs = std::filesystem;

std::atomic<uint64_t> nextDir{0};

/// Removes the per-process model directory at exit.
struct ModelCache {
  TempDir dir;
  std::map<std::string, std::string> paths;
  std::mutex mutex;
};

ModelCache &modelCache() {
  static ModelCache cache;
  return cache;
}

} // namespace

TempDir::TempDir() {
  const ::testing::TestInfo *info = ::testing::UnitTest::GetInstance()->current_test_info();
  // Parameterised test names hold '/', which would nest the directory.
  std::string name = info ? info->name() : "test";
  std::replace(name.begin(), name.end(), '/', '_');
  path_ = fs::temp_directory_path() / fmt::format("greta-{}-{}-{}", name, ::getpid(), nextDir++);
  fs::remove_all(path_);
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}

std::string tinyModel(synth::QuantMix mix, const std::string &key,
                      const std::function<void(synth::ModelShape &)> &reshape) {
  ModelCache &cache = modelCache();
  std::lock_guard lock(cache.mutex);
  const std::string name =
      fmt::format("tiny-{}{}.gguf", synth::nameOf(mix), key.empty() ? "" : "-" + key);
  if (auto it = cache.paths.find(name); it != cache.paths.end())
    return it->second;
  synth::SynthOptions options;
  options.shape = synth::presetShape("tiny");
  if (reshape)
    reshape(options.shape);
  options.quant = mix;
  options.seed = 7;
  const std::string path = cache.dir.file(name);
  synth::writeModel(options, path);
  cache.paths[name] = path;
  return path;
}

} // namespace greta::test
