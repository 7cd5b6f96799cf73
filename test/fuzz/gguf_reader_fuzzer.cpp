//===- gguf_reader_fuzzer.cpp - libFuzzer target for the GGUF reader -------===//
//
// Any byte string must either parse into a GgufFile whose tensor data lies inside the input, or
// fail with greta::Error. Crashes, hangs, sanitizer reports and other exception types are bugs.
//
// A file that parses is also written back with GgufWriter: the writer must accept everything the
// reader accepted (its checks mirror the reader's default limits; only an empty key is refused
// by the writer alone), the result must parse, and writing that again must give the same bytes
// (reader and writer agree on every field).
//
//===----------------------------------------------------------------------===//
#include "runtime/formats/gguf.h"
#include "runtime/support/error.h"

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <span>
#include <vector>

namespace {

[[noreturn]] void broken(const char *what) {
  std::fprintf(stderr, "gguf_reader_fuzzer: %s\n", what);
  std::abort();
}

/// The same metadata and tensors (with their bytes) as a new GGUF v3 image.
std::vector<uint8_t> rewrite(const greta::GgufFile &file) {
  greta::GgufWriter writer;
  for (const auto &[key, value] : file.metadata())
    writer.add(key, value);
  for (const auto &tensor : file.tensors())
    writer.addTensor(tensor.name, tensor.type, tensor.dims,
                     std::vector<uint8_t>(tensor.data.begin(), tensor.data.end()));
  return writer.toBytes();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::span<const uint8_t> bytes(data, size);
  std::optional<greta::GgufFile> file;
  try {
    file = greta::GgufFile::parse(bytes, "fuzz.gguf");
  } catch (const greta::Error &) {
    return 0;
  }
  // Touch everything the reader promised is in bounds.
  for (const auto &tensor : file->tensors()) {
    if (tensor.data.data() < data || tensor.data.data() + tensor.data.size() > data + size)
      broken("tensor data outside the input");
    if (tensor.data.size() != tensor.bytes)
      broken("tensor data size differs from its byte count");
    const uint64_t offset = static_cast<uint64_t>(tensor.data.data() - data);
    if (offset < file->dataOffset() || (offset - file->dataOffset()) % file->alignment() != 0)
      broken("tensor data not aligned inside the data section");
    if (!tensor.data.empty() && tensor.data.front() + tensor.data.back() == 511)
      (void)tensor.rows(); // reads both ends under ASan; the condition keeps it from being elided
  }
  // The reader takes an empty metadata key; the writer refuses one as a caller's mistake.
  for (const auto &[key, value] : file->metadata())
    if (key.empty())
      return 0;
  std::vector<uint8_t> once;
  try {
    once = rewrite(*file);
  } catch (const greta::Error &error) {
    std::fprintf(stderr, "%s\n", error.what());
    broken("GgufWriter refused what GgufFile accepted");
  }
  try {
    const greta::GgufFile reread = greta::GgufFile::parse(once, "rewritten.gguf");
    if (reread.metadata().size() != file->metadata().size() ||
        reread.tensors().size() != file->tensors().size())
      broken("rewritten file has different entries");
    if (rewrite(reread) != once)
      broken("writing the rewritten file again gives different bytes");
  } catch (const greta::Error &error) {
    std::fprintf(stderr, "%s\n", error.what());
    broken("GgufFile refused what GgufWriter wrote");
  }
  return 0;
}
