//===- bundle_manifest_fuzzer.cpp - libFuzzer target for manifest.json -----===//
//
// A bundle's manifest.json may be corrupted or edited by hand. Any text must either parse and
// validate (parseManifest, validateManifest, the weight table against a weights.bin size) or
// fail with greta::Error. Crashes, hangs, sanitizer reports and other exception types are bugs.
//
// A manifest that parses must also print and parse back to the same text (manifestToJson is
// the writer's side of the same format); one that validates must still validate after that.
// Seeds are manifests of the tiny synthetic Llama from the test fixture's bundles.
//
//===----------------------------------------------------------------------===//
#include "runtime/bundle/manifest_json.h"
#include "runtime/bundle/manifest_validator.h"
#include "runtime/support/error.h"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

/// weights.bin sizes the weight table is checked against: empty, and larger than any seed.
constexpr uint64_t kWeightsFileSizes[] = {0, uint64_t{1} << 32};

[[noreturn]] void broken(const char *what, const std::string &detail = {}) {
  std::fprintf(stderr, "bundle_manifest_fuzzer: %s\n%s\n", what, detail.c_str());
  std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string_view text(reinterpret_cast<const char *>(data), size);
  greta::bundle::Manifest manifest;
  try {
    manifest = greta::bundle::parseManifest(text, "fuzz.greta/manifest.json");
  } catch (const greta::Error &) {
    return 0;
  }

  // The printed form is canonical: it parses back and prints the same.
  std::string printed;
  try {
    printed = greta::bundle::manifestToJson(manifest);
    if (greta::bundle::manifestToJson(greta::bundle::parseManifest(printed, "printed")) != printed)
      broken("manifestToJson(parseManifest(printed)) != printed");
  } catch (const greta::Error &error) {
    broken("a parsed manifest does not print and parse back", error.what());
  }

  bool valid = true;
  try {
    greta::bundle::validateManifest(manifest, "fuzz.greta/manifest.json");
  } catch (const greta::Error &) {
    valid = false;
  }
  if (valid) {
    try {
      greta::bundle::validateManifest(greta::bundle::parseManifest(printed, "printed"),
                                      "printed");
    } catch (const greta::Error &error) {
      broken("a valid manifest is invalid after printing and parsing", error.what());
    }
    if (manifest.weights.mode == greta::bundle::WeightMode::Embed)
      for (uint64_t fileSize : kWeightsFileSizes) {
        try {
          greta::bundle::validateEmbeddedRanges(manifest, fileSize, "fuzz.greta/weights.bin");
        } catch (const greta::Error &) {
        }
      }
  }
  return 0;
}
