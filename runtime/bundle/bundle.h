//===- bundle.h - A compiled model directory, opened and validated ---------===//
//
// Bundle::open reads NAME.greta/manifest.json, validates all of it (manifest_validator.h), maps
// the weights (weights.bin, or the source GGUF for external weights, which must be the very file
// the bundle was compiled from), checks every weight range and the kernel sources named, and
// opens tokenizer.gguf. Nothing is used before everything is checked. External weights in a
// layout other than ggml are repacked into memory at load (weight_layout.h).
//
// Thread-safety: immutable after open(); any thread may read weights and the manifest.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/bundle/manifest.h"
#include "runtime/formats/gguf.h"
#include "runtime/support/mapped_file.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace greta::bundle {

struct BundleOpenOptions {
  /// Check every weight's FNV-1a checksum (reads all weight bytes once).
  bool verify = false;
  /// External weights: read this GGUF instead of the manifest's `weights.file` (a bundle moved
  /// to a machine where the model lives elsewhere). It must still be the same file.
  std::string weightsPath{};
  /// Threads for repacking external weights at load (0: hardware threads).
  unsigned threads = 0;
};

class Bundle {
public:
  /// Opens and validates `dir`. Throws greta::Error naming the file, field, value and limit.
  static std::unique_ptr<Bundle> open(const std::string &dir,
                                      const BundleOpenOptions &options = {});
  ~Bundle();

  const std::string &dir() const { return dir_; }
  const Manifest &manifest() const { return manifest_; }
  /// tokenizer.gguf, for Tokenizer::fromGguf and ChatTemplate::fromGguf.
  const GgufFile &tokenizerGguf() const { return *tokenizer_; }

  /// The weight `name` as the kernels read it (entry.type, entry.layout). Throws for an unknown
  /// name.
  const WeightEntry &weight(std::string_view name) const;
  std::span<const uint8_t> weightBytes(std::string_view name) const;

  /// Recomputes every weight checksum over the stored bytes (weights.bin, or the GGUF ranges for
  /// external weights) on `threads` threads (0: hardware threads). Throws naming a weight whose
  /// bytes changed (the first in table order). open() calls it when options.verify is set.
  void verifyChecksums(unsigned threads = 0) const;

private:
  Bundle() = default;
  void requireTokenizerMatchesModel() const;
  void openEmbeddedWeights();
  void openExternalWeights(const BundleOpenOptions &options);
  std::span<const uint8_t> storedBytes(size_t index) const;

  std::string dir_;
  std::string manifestLabel_;
  Manifest manifest_;
  std::optional<GgufFile> tokenizer_;
  std::optional<MappedFile> weightsFile_; // embed
  std::optional<GgufFile> sourceGguf_;    // external
  /// Per weight (manifest order): the bytes kernels read; points into weightsFile_, sourceGguf_
  /// or repacked_.
  std::vector<std::span<const uint8_t>> kernelBytes_;
  std::vector<std::vector<uint8_t>> repacked_;
};

} // namespace greta::bundle
