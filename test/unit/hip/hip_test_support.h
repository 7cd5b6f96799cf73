//===- hip_test_support.h - Helpers shared by the HIP layer's tests -----------===//
#pragma once

#include "runtime/hip/hip_platform.h"
#include "runtime/support/error.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

/// Expects `text` to contain `part`, printing both when it does not.
#define EXPECT_CONTAINS(text, part)                                                                \
  EXPECT_NE(std::string(text).find(part), std::string::npos)                                       \
      << "expected to find: " << (part) << "\nin: " << (text)

namespace greta::hip::test {

/// Sets an environment variable for the life of the object, then restores it.
class ScopedEnvironment {
public:
  ScopedEnvironment(const char *name, const char *value) : name_(name) {
    if (const char *old = std::getenv(name))
      old_ = old;
    ::setenv(name, value, /*overwrite=*/1);
  }
  ScopedEnvironment(const ScopedEnvironment &) = delete;
  ScopedEnvironment &operator=(const ScopedEnvironment &) = delete;
  ~ScopedEnvironment() {
    if (old_)
      ::setenv(name_.c_str(), old_->c_str(), 1);
    else
      ::unsetenv(name_.c_str());
  }

private:
  std::string name_;
  std::optional<std::string> old_;
};

/// Opens the GPU platform for a test suite (its SetUpTestSuite): true with `platform` open and
/// its summary printed (a GRETA_GPU line for gpu-check.sh), or false with `skipReason` saying
/// why there is no usable GPU.
inline bool openSuitePlatform(std::optional<HipPlatform> &platform, std::string &skipReason) {
  try {
    platform = openHipPlatform();
  } catch (const Error &error) {
    skipReason = std::string("no usable GPU: ") + error.what();
    return false;
  }
  std::cout << "GRETA_GPU " << platform->summary() << "\n";
  return true;
}

/// The NAME.greta bundles directly inside $GRETA_GPU_BUNDLES/`subfolder` (scripts/make-gpu-
/// bundles.sh makes them), sorted; empty with `skipReason` saying why when there are none.
inline std::vector<std::filesystem::path> gpuBundlePaths(const std::string &subfolder,
                                                         std::string &skipReason) {
  const char *dir = std::getenv("GRETA_GPU_BUNDLES");
  if (!dir || !*dir) {
    skipReason = "GRETA_GPU_BUNDLES is not set: make the bundles with "
                 "scripts/make-gpu-bundles.sh and point it at .gpu-bundles";
    return {};
  }
  const std::filesystem::path folder = std::filesystem::path(dir) / subfolder;
  std::vector<std::filesystem::path> paths;
  std::error_code error;
  for (const auto &entry : std::filesystem::directory_iterator(folder, error))
    if (entry.is_directory() && entry.path().extension() == ".greta")
      paths.push_back(entry.path());
  std::sort(paths.begin(), paths.end());
  if (paths.empty())
    skipReason = "GRETA_GPU_BUNDLES: " + folder.string() + " holds no NAME.greta bundles (" +
                 (error ? error.message() : std::string("empty")) +
                 "); run scripts/make-gpu-bundles.sh";
  return paths;
}

/// A fresh directory under the system's temporary folder, removed with its contents.
class TemporaryDirectory {
public:
  TemporaryDirectory() {
    std::string pattern = (std::filesystem::temp_directory_path() / "greta-hip-test-XXXXXX").string();
    if (!::mkdtemp(pattern.data()))
      throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  TemporaryDirectory(const TemporaryDirectory &) = delete;
  TemporaryDirectory &operator=(const TemporaryDirectory &) = delete;
  ~TemporaryDirectory() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path &path() const { return path_; }

private:
  std::filesystem::path path_;
};

} // namespace greta::hip::test
