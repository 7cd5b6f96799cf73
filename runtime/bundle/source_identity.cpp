//===- source_identity.cpp - Which GGUF a bundle was compiled from ---------===//
#include "runtime/bundle/source_identity.h"

#include "runtime/support/error.h"
#include "runtime/support/fnv1a.h"

#include <algorithm>

namespace greta::bundle {

std::string ggufHeaderHash(const GgufFile &gguf) {
  // A vocab-only file may end before its (empty) data section's alignment padding.
  const uint64_t headerBytes = std::min<uint64_t>(gguf.dataOffset(), gguf.fileSize());
  Fnv1a64 hash;
  hash.update(gguf.bytes().first(headerBytes));
  return formatFnv1a64(hash.value());
}

SourceInfo describeSource(const GgufFile &gguf, std::string path) {
  return SourceInfo{std::move(path), gguf.fileSize(), ggufHeaderHash(gguf)};
}

void requireSameSource(const GgufFile &gguf, const SourceInfo &expected,
                       const std::string &bundleLabel) {
  if (gguf.fileSize() != expected.size)
    fail("{}: weights file {} has {} bytes, but the bundle was compiled from a GGUF of {} bytes "
         "('{}'); external weights must come from that same file",
         bundleLabel, gguf.path(), gguf.fileSize(), expected.size, expected.path);
  const std::string hash = ggufHeaderHash(gguf);
  if (hash != expected.headerHash)
    fail("{}: weights file {} has header hash {}, but the bundle was compiled from a GGUF with "
         "header hash {} ('{}'); external weights must come from that same file",
         bundleLabel, gguf.path(), hash, expected.headerHash, expected.path);
}

} // namespace greta::bundle
