//===- make_test_bundle.cpp - Writes a mock-compiler bundle for script tests ===//
//
// `make_test_bundle MODEL.gguf OUT.greta` writes the bundle test/unit/support/llama_plan_fixture
// builds for a Llama GGUF (fused, audits on, weights embedded), so scripts that need a bundle
// (scripts/hostile_inputs.py) run in builds without the compiler. Test-only.
//
//===----------------------------------------------------------------------===//
#include "test/unit/support/llama_plan_fixture.h"

#include <fmt/format.h>

#include <exception>

int main(int argc, char **argv) {
  if (argc != 3) {
    fmt::print(stderr, "usage: make_test_bundle MODEL.gguf OUT.greta\n");
    return 2;
  }
  try {
    greta::test::writeLlamaBundle(argv[1], argv[2]);
  } catch (const std::exception &e) {
    fmt::print(stderr, "make_test_bundle: error: {}\n", e.what());
    return 1;
  }
  return 0;
}
