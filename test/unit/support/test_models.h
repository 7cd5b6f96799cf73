//===- test_models.h - Temporary directories and tiny GGUF models for tests -===//
//
// TempDir gives each test its own directory, removed afterwards. tinyModel() writes a
// greta-synth model (the "tiny" preset, optionally reshaped) once per process and returns its
// path, so the runtime tests run on real GGUF files without downloads.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/synth/model_plan.h"

#include <filesystem>
#include <functional>
#include <string>

namespace greta::test {

/// A fresh directory under the system temp directory, removed (with its contents) on
/// destruction.
class TempDir {
public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;

  const std::filesystem::path &path() const { return path_; }
  std::string file(const std::string &name) const { return (path_ / name).string(); }

private:
  std::filesystem::path path_;
};

/// Path of a synthetic Llama GGUF: the tiny preset in `mix`, with `reshape` applied to the
/// shape. `key` names the variant; the file is written once per process and key.
std::string tinyModel(synth::QuantMix mix, const std::string &key = "",
                      const std::function<void(synth::ModelShape &)> &reshape = {});

} // namespace greta::test
