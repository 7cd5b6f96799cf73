//===- shared_testdata.h - Tests that read ../shared/testdata --------------===//
//
// The tokenizer vocabularies and reference vectors live beside the checkout, in
// ../shared/testdata (GRETA_SHARED_TESTDATA). CI and development checkouts have it; the GPU
// machine's transfer cannot hold it next to the bundles, so scripts/gpu-check.sh sets
// GRETA_ALLOW_MISSING_SHARED_TESTDATA=1 there and the tests that need it skip, saying why.
// Without that variable a missing folder is a failure, never a silent skip.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

namespace greta::test {

/// Why a test that reads the shared test data cannot run here, or "" when it can (or must try).
inline std::string missingSharedTestdata() {
  const char *allow = std::getenv("GRETA_ALLOW_MISSING_SHARED_TESTDATA");
  if (allow == nullptr || std::string(allow) != "1")
    return "";
  std::error_code error;
  if (std::filesystem::is_directory(GRETA_SHARED_TESTDATA, error))
    return "";
  return std::string("no shared test data at ") + GRETA_SHARED_TESTDATA +
         " (GRETA_ALLOW_MISSING_SHARED_TESTDATA=1)";
}

} // namespace greta::test

/// First statement of a test that reads the shared test data: skips it where the folder is
/// missing and the run allows that (see above).
#define GRETA_NEEDS_SHARED_TESTDATA()                                                              \
  do {                                                                                             \
    if (const std::string why = ::greta::test::missingSharedTestdata(); !why.empty())              \
      GTEST_SKIP() << why;                                                                         \
  } while (0)
