#include "runtime/hip/kernel_cache.h"

#include "runtime/hip/dynamic_library.h"
#include "runtime/support/atomic_output_file.h"
#include "runtime/support/error.h"
#include "runtime/support/fnv1a.h"

#include <fmt/format.h>

#include <array>
#include <cstring>
#include <fstream>
#include <mutex>

namespace greta::hip {
namespace {

constexpr std::string_view kMagic = "GRETAKC1";
constexpr uint32_t kFormatVersion = 1;
constexpr size_t kHeaderBytes = 48; // magic 8, version 4, reserved 4, four u64
constexpr size_t kMaxLabelLength = 64;

uint64_t fnv(std::span<const uint8_t> bytes) {
  Fnv1a64 hash;
  hash.update(bytes);
  return hash.value();
}

std::span<const uint8_t> asBytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t *>(text.data()), text.size()};
}

void putU64(uint8_t *out, uint64_t value) {
  for (int i = 0; i < 8; ++i)
    out[i] = static_cast<uint8_t>(value >> (8 * i));
}
void putU32(uint8_t *out, uint32_t value) {
  for (int i = 0; i < 4; ++i)
    out[i] = static_cast<uint8_t>(value >> (8 * i));
}
uint64_t getU64(const uint8_t *in) {
  uint64_t value = 0;
  for (int i = 0; i < 8; ++i)
    value |= static_cast<uint64_t>(in[i]) << (8 * i);
  return value;
}
uint32_t getU32(const uint8_t *in) {
  uint32_t value = 0;
  for (int i = 0; i < 4; ++i)
    value |= static_cast<uint32_t>(in[i]) << (8 * i);
  return value;
}

/// Kernel names are identifiers; anything else becomes '_' so a label is always a safe name.
std::string safeLabel(std::string_view label) {
  std::string safe;
  for (char c : label.substr(0, kMaxLabelLength)) {
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '-' || c == '.';
    safe += plain ? c : '_';
  }
  return safe.empty() ? std::string("kernel") : safe;
}

/// Why `file` is not a valid entry for `material`, or "" when it is (then `code` is filled).
std::string validate(const std::vector<uint8_t> &file, std::string_view material,
                     std::vector<uint8_t> &code) {
  if (file.size() < kHeaderBytes)
    return fmt::format("{} bytes, shorter than the {}-byte header", file.size(), kHeaderBytes);
  if (std::memcmp(file.data(), kMagic.data(), kMagic.size()) != 0)
    return "bad magic";
  const uint8_t *header = file.data();
  if (uint32_t version = getU32(header + 8); version != kFormatVersion)
    return fmt::format("format version {}, expected {}", version, kFormatVersion);
  uint64_t materialBytes = getU64(header + 16);
  uint64_t codeBytes = getU64(header + 24);
  uint64_t materialHash = getU64(header + 32);
  uint64_t codeHash = getU64(header + 40);
  uint64_t payload = file.size() - kHeaderBytes;
  if (materialBytes > payload || codeBytes != payload - materialBytes)
    return fmt::format("header says {} + {} payload bytes, file has {}", materialBytes, codeBytes,
                       payload);
  std::span<const uint8_t> storedMaterial(file.data() + kHeaderBytes, materialBytes);
  if (materialHash != fnv(storedMaterial))
    return "key material checksum mismatch";
  if (storedMaterial.size() != material.size() ||
      std::memcmp(storedMaterial.data(), material.data(), material.size()) != 0)
    return "entry was made from other source, options or compiler (hash collision or stale file)";
  std::span<const uint8_t> storedCode = std::span<const uint8_t>(file).subspan(
      kHeaderBytes + materialBytes);
  if (storedCode.empty())
    return "empty code object";
  if (codeHash != fnv(storedCode))
    return "code checksum mismatch";
  code.assign(storedCode.begin(), storedCode.end());
  return {};
}

} // namespace

std::string_view cacheOutcomeName(CacheOutcome outcome) {
  switch (outcome) {
  case CacheOutcome::Disabled:
    return "disabled";
  case CacheOutcome::Hit:
    return "hit";
  case CacheOutcome::Miss:
    return "miss";
  case CacheOutcome::Corrupt:
    return "corrupt";
  }
  return "?";
}

KernelCache::KernelCache(std::filesystem::path directory) : directory_(std::move(directory)) {}

std::filesystem::path KernelCache::entryPath(std::string_view label,
                                             std::string_view material) const {
  return directory_ / fmt::format("{}-{:016x}.bin", safeLabel(label), fnv(asBytes(material)));
}

KernelCache::Lookup KernelCache::find(std::string_view label, std::string_view material) const {
  Lookup lookup;
  lookup.path = entryPath(label, material);
  std::ifstream in(lookup.path, std::ios::binary);
  if (!in) {
    lookup.outcome = CacheOutcome::Miss;
    return lookup;
  }
  std::vector<uint8_t> file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  lookup.problem = validate(file, material, lookup.code);
  lookup.outcome = lookup.problem.empty() ? CacheOutcome::Hit : CacheOutcome::Corrupt;
  return lookup;
}

std::string KernelCache::store(std::string_view label, std::string_view material,
                               std::span<const uint8_t> code) const {
  // AtomicOutputFile's temporary name is per process; threads of one process take turns.
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  std::filesystem::path path = entryPath(label, material);
  try {
    std::error_code error;
    std::filesystem::create_directories(directory_, error);
    if (error)
      return fmt::format("cannot create kernel cache folder {}: {}", directory_.string(),
                         error.message());
    std::array<uint8_t, kHeaderBytes> header{};
    std::memcpy(header.data(), kMagic.data(), kMagic.size());
    putU32(header.data() + 8, kFormatVersion);
    putU64(header.data() + 16, material.size());
    putU64(header.data() + 24, code.size());
    putU64(header.data() + 32, fnv(asBytes(material)));
    putU64(header.data() + 40, fnv(code));
    AtomicOutputFile out(path.string());
    out.write(header);
    out.write(asBytes(material));
    out.write(code);
    out.commit();
  } catch (const Error &error) {
    return error.what();
  }
  return {};
}

std::filesystem::path defaultKernelCacheDirectory() {
  if (environmentValue("GRETA_KERNEL_CACHE") == "off")
    return {};
  if (std::string root = environmentValue("GRETA_CACHE_DIR"); !root.empty())
    return std::filesystem::path(root) / "kernels";
  if (std::string xdg = environmentValue("XDG_CACHE_HOME"); !xdg.empty())
    return std::filesystem::path(xdg) / "greta" / "kernels";
  if (std::string home = environmentValue("HOME"); !home.empty())
    return std::filesystem::path(home) / ".cache" / "greta" / "kernels";
  return {};
}

} // namespace greta::hip
