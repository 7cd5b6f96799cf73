//===- source_identity.h - Which GGUF a bundle was compiled from -----------===//
//
// A bundle records its source GGUF's size and a hash of everything before the tensor data
// (header, metadata, tensor table). External-weight bundles point into that file, so the loader
// recomputes both and refuses a different file: same name, other contents is the failure this
// catches. Hashing only the header keeps the check instant for a 5 GB file; the tensor table's
// offsets and types are in it, and --verify checksums cover the data.
//
// Thread-safety: pure functions.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/bundle/manifest.h"
#include "runtime/formats/gguf.h"

#include <string>

namespace greta::bundle {

/// "fnv1a64:…" over the bytes of `gguf` before its data section.
std::string ggufHeaderHash(const GgufFile &gguf);

/// The SourceInfo of `gguf` with `path` as given.
SourceInfo describeSource(const GgufFile &gguf, std::string path);

/// Throws greta::Error when `gguf` is not the file `expected` describes, naming both sizes or
/// hashes and `bundleLabel`.
void requireSameSource(const GgufFile &gguf, const SourceInfo &expected,
                       const std::string &bundleLabel);

} // namespace greta::bundle
