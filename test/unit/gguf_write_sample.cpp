//===- gguf_write_sample.cpp - Writes the sample GGUF for the Python interop test -===//
//
// `gguf_write_sample OUT.gguf` writes test::sampleWriter()'s file (every value type, nested
// arrays, alignment 64, F32/F16/Q8_0/Q4_K tensors with known bytes) with GgufWriter::write, so
// test/python/gguf_interop.py can check it with the independent gguf package. Test-only.
//
//===----------------------------------------------------------------------===//
#include "test/unit/gguf_sample.h"

#include <fmt/format.h>

#include <exception>

int main(int argc, char **argv) {
  if (argc != 2) {
    fmt::print(stderr, "usage: gguf_write_sample OUT.gguf\n");
    return 2;
  }
  try {
    greta::test::sampleWriter().write(argv[1]);
  } catch (const std::exception &e) {
    fmt::print(stderr, "gguf_write_sample: error: {}\n", e.what());
    return 1;
  }
  return 0;
}
