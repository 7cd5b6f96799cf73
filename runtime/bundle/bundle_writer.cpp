//===- bundle_writer.cpp - Write a bundle directory atomically -------------===//
#include "runtime/bundle/bundle_writer.h"

#include "runtime/bundle/manifest_json.h"
#include "runtime/bundle/manifest_validator.h"
#include "runtime/bundle/source_identity.h"
#include "runtime/bundle/weight_layout.h"
#include "runtime/formats/gguf.h"
#include "runtime/support/atomic_output_file.h"
#include "runtime/support/checked_math.h"
#include "runtime/support/error.h"
#include "runtime/support/fnv1a.h"
#include "runtime/support/interrupt.h"

#include <filesystem>
#include <fstream>
#include <thread>
#include <unistd.h>

namespace greta::bundle {
namespace {

namespace fs = std::filesystem;

/// Metadata copied into tokenizer.gguf: everything the tokenizer and chat template read.
constexpr std::string_view kTokenizerKeyPrefix = "tokenizer.";
constexpr std::string_view kArchitectureKey = "general.architecture";

/// Small text files go straight into the temporary directory: its rename is what makes the
/// bundle appear, so per-file atomicity (and a sync per kernel) would buy nothing.
void writeTextFile(const fs::path &path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  out.close();
  if (!out)
    fail("{}: cannot write {} bytes", path.string(), text.size());
}

unsigned resolveThreads(unsigned threads) {
  return threads != 0 ? threads : std::max(1u, std::thread::hardware_concurrency());
}

/// Fills each weight entry's type, dims, offset, bytes and checksum. Embed: offsets are laid out
/// in weights.bin; the checksum is over the repacked bytes, computed while writing.
void completeWeightTable(Manifest &m, const GgufFile &gguf) {
  uint64_t offset = 0;
  for (WeightEntry &w : m.weights.tensors) {
    const GgufTensorInfo &t = gguf.requireTensor(w.name);
    if (m.weights.mode == WeightMode::External && w.layout != kLayoutGgml &&
        !canProduceLayout(w.layout))
      fail("weight '{}': layout '{}' cannot be produced at load (external weights support {}, {})",
           w.name, w.layout, kLayoutGgml, kLayoutF16Rows);
    w.type = layoutType(t, w.layout);
    w.dims = t.dims;
    if (m.weights.mode == WeightMode::External) {
      w.offset = checkedAdd(gguf.dataOffset(), t.offset, w.name);
      w.bytes = t.bytes;
      Fnv1a64 hash;
      hash.update(t.data);
      w.checksum = formatFnv1a64(hash.value());
      continue;
    }
    w.bytes = layoutBytes(t, w.layout);
    w.offset = offset;
    offset = alignUp(checkedAdd(offset, w.bytes, "weights.bin size"), kWeightAlignment,
                     "weights.bin size");
  }
}

/// Writes weights.bin and sets each entry's checksum.
void writeEmbeddedWeights(Manifest &m, const GgufFile &gguf, const fs::path &path,
                          unsigned threads) {
  AtomicOutputFile file(path.string());
  std::vector<uint8_t> buffer;
  for (WeightEntry &w : m.weights.tensors) {
    throwIfInterrupted(path.string());
    file.writeZeros(w.offset - file.bytesWritten()); // alignment padding
    buffer.resize(w.bytes);
    repackTensor(gguf.requireTensor(w.name), w.layout, buffer, threads);
    Fnv1a64 hash;
    hash.update(buffer);
    w.checksum = formatFnv1a64(hash.value());
    file.write(buffer);
  }
  file.commit();
}

void writeTokenizer(const GgufFile &gguf, const fs::path &path) {
  GgufWriter writer;
  for (const auto &[key, value] : gguf.metadata())
    if (key.starts_with(kTokenizerKeyPrefix) || key == kArchitectureKey)
      writer.add(key, value);
  writer.write(path.string());
}

/// Puts `temp` at `dir`, replacing an existing bundle there.
void moveIntoPlace(const fs::path &temp, const fs::path &dir) {
  if (!fs::exists(dir)) {
    fs::rename(temp, dir);
    return;
  }
  if (!fs::is_directory(dir) || (!fs::is_empty(dir) && !fs::exists(dir / kManifestFile)))
    fail("{}: exists and is not a bundle (no {}); refusing to replace it", dir.string(),
         kManifestFile);
  const fs::path old = dir.string() + fmt::format(".old-{}", ::getpid());
  fs::remove_all(old);
  fs::rename(dir, old);
  try {
    fs::rename(temp, dir);
  } catch (...) {
    fs::rename(old, dir); // put the previous bundle back
    throw;
  }
  fs::remove_all(old);
}

/// Removes the temporary directory unless released: on an error, Ctrl-C included, and (through
/// RemoveOnHardExit) when a second Ctrl-C or SIGTERM ends the process.
class TempDirGuard {
public:
  explicit TempDirGuard(fs::path path)
      : path_(std::move(path)),
        hardExitCleanup_(path_.string(), RemoveOnHardExit::Kind::Directory) {}
  ~TempDirGuard() {
    if (!path_.empty()) {
      std::error_code ignored;
      fs::remove_all(path_, ignored);
    }
  }
  void release() {
    path_.clear();
    hardExitCleanup_.release();
  }

private:
  fs::path path_;
  RemoveOnHardExit hardExitCleanup_;
};

} // namespace

Manifest writeBundle(const BundleSpec &spec, const std::string &dirName) {
  fs::path dir = fs::path(dirName).lexically_normal();
  if (!dir.has_filename())
    dir = dir.parent_path(); // "model.greta/" names model.greta
  if (!dir.has_filename() || dir.filename() == "..")
    fail("bundle directory '{}': needs a name", dirName);
  throwIfInterrupted(dirName);
  const GgufFile gguf = GgufFile::open(spec.sourceGguf);
  const unsigned threads = resolveThreads(spec.threads);

  Manifest m = spec.manifest;
  m.format = std::string(kFormatName);
  m.formatVersion = kFormatVersion;
  // An absolute path, so the bundle finds an external GGUF from any working directory.
  m.source = describeSource(gguf, fs::absolute(spec.sourceGguf).lexically_normal().string());
  m.weights.file = m.weights.mode == WeightMode::Embed ? std::string(kWeightsFile) : m.source.path;
  for (KernelSpec &kernel : m.kernels)
    if (spec.kernelSources.count(kernel.name))
      kernel.source = fmt::format("{}/{}.hip", kKernelsDir, kernel.name);
  for (const auto &[name, text] : spec.kernelSources)
    if (!m.findKernel(name))
      fail("{}: kernelSources has a source for '{}', which is not in manifest.kernels", dirName,
           name);
  size_t codeObjects = 0;
  for (const KernelSpec &kernel : m.kernels)
    for (const CodeObjectEntry &c : kernel.codeObjects) {
      auto file = spec.codeObjectFiles.find(c.file);
      if (file == spec.codeObjectFiles.end() || file->second.size() != c.bytes)
        fail("{}: kernel '{}': code object '{}' ({} bytes) has no file of that size in "
             "codeObjectFiles",
             dirName, kernel.name, c.file, c.bytes);
      ++codeObjects;
    }
  if (codeObjects != spec.codeObjectFiles.size())
    fail("{}: codeObjectFiles holds {} files, manifest.kernels names {}", dirName,
         spec.codeObjectFiles.size(), codeObjects);
  completeWeightTable(m, gguf);
  // Checksums of embedded weights are known only after writing; validate with placeholders so a
  // bad plan fails before any file is written.
  {
    Manifest draft = m;
    for (WeightEntry &w : draft.weights.tensors)
      if (w.checksum.empty())
        w.checksum = formatFnv1a64(0);
    validateManifest(draft, dirName + " (being written)");
  }

  const fs::path temp = dir.string() + fmt::format(".tmp-{}", ::getpid());
  fs::remove_all(temp);
  fs::create_directories(temp / kKernelsDir);
  TempDirGuard guard(temp);
  for (const auto &[name, text] : spec.kernelSources)
    writeTextFile(temp / kKernelsDir / (name + ".hip"), text);
  for (const auto &[file, code] : spec.codeObjectFiles) // names checked by validateManifest
    writeTextFile(temp / file,
                  std::string_view(reinterpret_cast<const char *>(code.data()), code.size()));
  if (!spec.irFiles.empty()) {
    fs::create_directories(temp / kIrDir);
    for (const auto &[name, text] : spec.irFiles) {
      if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..")
        fail("{}: irFiles name '{}' must be a plain file name", dirName, name);
      writeTextFile(temp / kIrDir / name, text);
    }
  }
  if (m.weights.mode == WeightMode::Embed)
    writeEmbeddedWeights(m, gguf, temp / kWeightsFile, threads);
  writeTokenizer(gguf, temp / kTokenizerFile);
  validateManifest(m, dirName + " (being written)");
  const std::string manifestText = manifestToJson(m);
  AtomicOutputFile manifest((temp / kManifestFile).string()); // synced: written last, read first
  manifest.write({reinterpret_cast<const uint8_t *>(manifestText.data()), manifestText.size()});
  manifest.commit();
  throwIfInterrupted(dirName); // the last moment to leave an existing bundle as it was
  moveIntoPlace(temp, dir);
  guard.release();
  return m;
}

bool tryWriteBundle(const BundleSpec &spec, const std::string &dir, std::string *error) noexcept {
  try {
    writeBundle(spec, dir);
    return true;
  } catch (const std::exception &e) { // greta::Error, filesystem and allocation failures
    if (error)
      *error = e.what();
  } catch (...) {
    if (error)
      *error = "unknown error while writing bundle " + dir;
  }
  return false;
}

} // namespace greta::bundle
