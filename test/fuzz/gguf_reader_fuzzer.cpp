//===- gguf_reader_fuzzer.cpp - libFuzzer target for the GGUF reader -------===//
//
// Any byte string must either parse into a GgufFile whose tensor data lies inside the input, or
// fail with greta::Error. Crashes, hangs, sanitizer reports and other exception types are bugs.
//
//===----------------------------------------------------------------------===//
#include "runtime/formats/gguf.h"
#include "runtime/support/error.h"

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::span<const uint8_t> bytes(data, size);
  try {
    greta::GgufFile file = greta::GgufFile::parse(bytes, "fuzz.gguf");
    // Touch everything the reader promised is in bounds.
    uint64_t checksum = 0;
    for (const auto &tensor : file.tensors()) {
      if (tensor.data.data() < data || tensor.data.data() + tensor.data.size() > data + size)
        std::abort();
      if (!tensor.data.empty())
        checksum += tensor.data.front() + tensor.data.back();
    }
    for (const auto &[key, value] : file.metadata())
      checksum += key.size() + static_cast<uint32_t>(value.type());
    (void)checksum;
  } catch (const greta::Error &) {
  }
  return 0;
}
