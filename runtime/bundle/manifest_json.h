//===- manifest_json.h - manifest.json text <-> Manifest -------------------===//
//
// Syntax only: field presence, JSON types, enum spellings and integer ranges. What the fields
// mean together (kernels exist, shapes agree, weights in range) is manifest_validator.h's job.
//
// Thread-safety: pure functions.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/bundle/manifest.h"

#include <string>
#include <string_view>

namespace greta::bundle {

/// The manifest as JSON text (two-space indent, keys in a fixed order, trailing newline).
std::string manifestToJson(const Manifest &manifest);

/// Parses manifest.json text; `label` names the file in errors ("tiny.greta/manifest.json").
/// The format name and version are checked first, before any other field is read, so a bundle
/// of another version is refused with a message naming the bundle's version and generator and
/// the version this runtime reads, however its other fields look. Every other problem is a
/// greta::Error naming the field path ("phases.decode.launches[3].args.x") and the value.
Manifest parseManifest(std::string_view text, const std::string &label);

} // namespace greta::bundle
