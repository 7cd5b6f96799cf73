//===- bundle.cpp - A compiled model directory, opened and validated -------===//
#include "runtime/bundle/bundle.h"

#include "runtime/bundle/manifest_json.h"
#include "runtime/bundle/manifest_validator.h"
#include "runtime/bundle/source_identity.h"
#include "runtime/bundle/weight_layout.h"
#include "runtime/support/checked_math.h"
#include "runtime/support/error.h"
#include "runtime/support/fnv1a.h"
#include "runtime/support/memory_budget.h"

#include <fmt/ranges.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

namespace greta::bundle {
namespace {

namespace fs = std::filesystem;

/// A manifest for an 8B model is ~200 KB; anything near this is not one.
constexpr uint64_t kMaxManifestBytes = 64ull << 20;

std::string readManifest(const fs::path &path, const std::string &label) {
  std::error_code ec;
  const uint64_t size = fs::file_size(path, ec);
  if (ec)
    fail("{}: cannot read the bundle manifest: {}", label, ec.message());
  if (size > kMaxManifestBytes)
    fail("{}: {} bytes exceeds the manifest size limit of {} bytes", label, size,
         kMaxManifestBytes);
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof())
    fail("{}: read error", label);
  return text;
}

unsigned resolveThreads(unsigned threads) {
  return threads != 0 ? threads : std::max(1u, std::thread::hardware_concurrency());
}

} // namespace

Bundle::~Bundle() = default;

std::unique_ptr<Bundle> Bundle::open(const std::string &dir, const BundleOpenOptions &options) {
  std::unique_ptr<Bundle> bundle(new Bundle());
  bundle->dir_ = dir;
  if (!fs::is_directory(dir))
    fail("{}: not a bundle directory (greta-compile writes NAME.greta/)", dir);
  const fs::path root(dir);
  bundle->manifestLabel_ = (root / kManifestFile).string();
  const std::string text = readManifest(root / kManifestFile, bundle->manifestLabel_);
  bundle->manifest_ = parseManifest(text, bundle->manifestLabel_);
  validateManifest(bundle->manifest_, bundle->manifestLabel_);

  for (const KernelSpec &kernel : bundle->manifest_.kernels)
    if (!kernel.source.empty() && !fs::is_regular_file(root / kernel.source))
      fail("{}: kernel '{}': source file '{}' is missing from the bundle", bundle->manifestLabel_,
           kernel.name, kernel.source);
  for (const KernelSpec &kernel : bundle->manifest_.kernels)
    for (const CodeObjectEntry &c : kernel.codeObjects) {
      std::error_code error;
      const uint64_t size = fs::file_size(root / c.file, error);
      if (error || size != c.bytes)
        fail("{}: kernel '{}': code object '{}' is {} (the manifest says {} bytes)",
             bundle->manifestLabel_, kernel.name, c.file,
             error ? "missing" : fmt::format("{} bytes", size), c.bytes);
    }

  if (bundle->manifest_.weights.mode == WeightMode::Embed)
    bundle->openEmbeddedWeights();
  else
    bundle->openExternalWeights(options);
  bundle->tokenizer_.emplace(GgufFile::open((root / kTokenizerFile).string()));
  bundle->requireTokenizerMatchesModel();
  if (options.verify)
    bundle->verifyChecksums(options.threads);
  return bundle;
}

void Bundle::requireTokenizerMatchesModel() const {
  // The logits have one row per model token and the sampler may pick any of them: a tokenizer
  // with another count would fail only when such an id is printed, deep into a generation.
  const std::string path = (fs::path(dir_) / kTokenizerFile).string();
  const GgufValue *tokens = tokenizer_->find("tokenizer.ggml.tokens");
  const GgufArray *list = tokens ? tokens->array() : nullptr;
  if (!list)
    fail("{}: metadata 'tokenizer.ggml.tokens' is missing or not an array", path);
  if (list->elements.size() != manifest_.model.vocab)
    fail("{}: {} tokens, but the model's vocabulary (manifest model.vocab, the logits' width) is "
         "{}: the tokenizer does not belong to this model",
         path, list->elements.size(), manifest_.model.vocab);
}

void Bundle::openEmbeddedWeights() {
  const std::string path = (fs::path(dir_) / kWeightsFile).string();
  weightsFile_.emplace(path);
  validateEmbeddedRanges(manifest_, weightsFile_->size(), path);
  for (const WeightEntry &w : manifest_.weights.tensors)
    kernelBytes_.push_back(weightsFile_->bytes().subspan(w.offset, w.bytes));
}

void Bundle::openExternalWeights(const BundleOpenOptions &options) {
  fs::path path = options.weightsPath.empty() ? fs::path(manifest_.weights.file)
                                              : fs::path(options.weightsPath);
  if (path.is_relative() && options.weightsPath.empty())
    path = fs::path(dir_) / path; // the manifest's relative paths are relative to the bundle
  sourceGguf_.emplace(GgufFile::open(path.string()));
  requireSameSource(*sourceGguf_, manifest_.source, manifestLabel_);
  const GgufFile &gguf = *sourceGguf_;
  // The repacked copies are allocated below: check their total first (memory_budget.h). Entries
  // the loop refuses are left out here; it names them.
  uint64_t repackBytes = 0;
  for (const WeightEntry &w : manifest_.weights.tensors)
    if (const GgufTensorInfo *t = gguf.findTensor(w.name);
        t && w.layout != kLayoutGgml && canProduceLayout(w.layout))
      repackBytes = checkedAdd(repackBytes, layoutBytes(*t, w.layout), "repacked weights");
  requireAvailableMemory(repackBytes,
                         fmt::format("{}: weights repacked at load from {}", manifestLabel_,
                                     gguf.path()),
                         "compile with --weights embed to store them repacked in the bundle");
  repacked_.resize(manifest_.weights.tensors.size());
  for (size_t i = 0; i < manifest_.weights.tensors.size(); ++i) {
    const WeightEntry &w = manifest_.weights.tensors[i];
    const std::string where =
        fmt::format("{}: weights.tensors[{}] '{}'", manifestLabel_, i, w.name);
    const GgufTensorInfo *t = gguf.findTensor(w.name);
    if (!t)
      fail("{}: no tensor of that name in {}", where, gguf.path());
    const uint64_t start = gguf.dataOffset() + t->offset;
    if (w.offset != start || w.bytes != t->bytes)
      fail("{}: offset {} / bytes {} differ from the tensor's offset {} / bytes {} in {}", where,
           w.offset, w.bytes, start, t->bytes, gguf.path());
    if (!canProduceLayout(w.layout))
      fail("{}: layout '{}' cannot be produced at load by this runtime (known: {}, {})", where,
           w.layout, kLayoutGgml, kLayoutF16Rows);
    if (w.dims != t->dims || w.type != layoutType(*t, w.layout))
      fail("{}: type {} dims [{}] do not match {} [{}] in layout {} of {}", where, nameOf(w.type),
           fmt::join(w.dims, ", "), nameOf(t->type), fmt::join(t->dims, ", "), w.layout,
           gguf.path());
    if (w.layout == kLayoutGgml) {
      kernelBytes_.push_back(t->data);
      continue;
    }
    repacked_[i].resize(layoutBytes(*t, w.layout));
    repackTensor(*t, w.layout, repacked_[i], resolveThreads(options.threads));
    kernelBytes_.push_back(repacked_[i]);
  }
}

std::span<const uint8_t> Bundle::storedBytes(size_t index) const {
  const WeightEntry &w = manifest_.weights.tensors[index];
  if (weightsFile_)
    return weightsFile_->bytes().subspan(w.offset, w.bytes);
  return sourceGguf_->bytes().subspan(w.offset, w.bytes);
}

const WeightEntry &Bundle::weight(std::string_view name) const {
  if (const WeightEntry *w = manifest_.findWeight(name))
    return *w;
  fail("{}: no weight named '{}'", manifestLabel_, name);
}

std::span<const uint8_t> Bundle::weightBytes(std::string_view name) const {
  const WeightEntry &w = weight(name);
  return kernelBytes_[static_cast<size_t>(&w - manifest_.weights.tensors.data())];
}

void Bundle::verifyChecksums(unsigned threads) const {
  // Tensors are hashed in parallel (FNV-1a is sequential within one); every result is kept so
  // the error names the first damaged weight in table order, whatever the scheduling.
  const std::vector<WeightEntry> &tensors = manifest_.weights.tensors;
  std::vector<std::string> actual(tensors.size());
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i = next++; i < tensors.size(); i = next++) {
      if (tensors[i].checksum.empty())
        continue;
      Fnv1a64 hash;
      hash.update(storedBytes(i));
      actual[i] = formatFnv1a64(hash.value());
    }
  };
  {
    std::vector<std::jthread> pool;
    for (unsigned t = 1; t < std::min<size_t>(resolveThreads(threads), tensors.size()); ++t)
      pool.emplace_back(worker);
    worker();
  }
  for (size_t i = 0; i < tensors.size(); ++i) {
    const WeightEntry &w = tensors[i];
    if (!w.checksum.empty() && actual[i] != w.checksum)
      fail("{}: weight '{}' (offset {}, {} bytes of {}): checksum {} differs from the manifest's "
           "{}; the weights were modified or damaged after compilation",
           manifestLabel_, w.name, w.offset, w.bytes,
           weightsFile_ ? weightsFile_->path() : sourceGguf_->path(), actual[i], w.checksum);
  }
}

} // namespace greta::bundle
