//===- kernel_cache.h - Compiled kernels on disk, keyed by everything that made them ===//
//
// Compiling a model's kernels takes seconds; loading them from disk takes milliseconds. An
// entry is keyed by its "material": every byte that determines the code — compiler identity,
// target, options, prelude, source, kernel name (kernel_compiler.cpp builds it). The file name
// carries the material's FNV-1a 64 hash, and the entry stores the material itself, so a hash
// collision or a stale file can never serve the wrong code: a lookup compares the material
// byte for byte.
//
// Entry file <label>-<hash>.bin, little-endian:
//   magic "GRETAKC1" | u32 format version (1) | u32 0 | u64 material bytes | u64 code bytes |
//   u64 FNV-1a 64 of the material | u64 FNV-1a 64 of the code | material | code
// Anything else — truncated, edited, other material, bad checksum — is reported as Corrupt and
// the caller recompiles and overwrites it. Writes go to a temporary file renamed into place, so
// readers (other processes too) never see half an entry.
//
// Thread-safety: find() and store() may be called from any thread.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace greta::hip {

enum class CacheOutcome {
  Disabled, ///< no cache directory
  Hit,      ///< served from disk
  Miss,     ///< no entry; compiled and stored
  Corrupt,  ///< an entry existed but failed validation; recompiled and overwritten
};
std::string_view cacheOutcomeName(CacheOutcome outcome);

class KernelCache {
public:
  /// Entries live directly in `directory`, which is created on the first store.
  explicit KernelCache(std::filesystem::path directory);
  const std::filesystem::path &directory() const { return directory_; }

  struct Lookup {
    CacheOutcome outcome = CacheOutcome::Miss; ///< Hit, Miss or Corrupt
    std::vector<uint8_t> code;                 ///< when Hit
    std::string problem;                       ///< when Corrupt: what was wrong
    std::filesystem::path path;
  };
  /// The entry for `material`; `label` (a kernel name) only makes file names readable.
  Lookup find(std::string_view label, std::string_view material) const;

  /// Stores `code` for `material`. Never throws: a cache that cannot be written only costs
  /// time, so the problem is returned ("" on success) for the caller to report.
  std::string store(std::string_view label, std::string_view material,
                    std::span<const uint8_t> code) const;

  std::filesystem::path entryPath(std::string_view label, std::string_view material) const;

private:
  std::filesystem::path directory_;
};

/// $GRETA_CACHE_DIR/kernels, else $XDG_CACHE_HOME/greta/kernels, else ~/.cache/greta/kernels;
/// empty (no cache) when GRETA_KERNEL_CACHE=off or no home folder is known.
std::filesystem::path defaultKernelCacheDirectory();

} // namespace greta::hip
