//===- manifest_validator.h - Everything a manifest says, checked before use -===//
//
// The writer runs these checks before it writes a bundle and the loader after it reads one, so
// a compiler bug is reported at compile time and a corrupted or hand-edited manifest never
// reaches a kernel. After validateManifest() a backend may rely on: every launch names a kernel
// of a known family; every argument the family needs is there, names an existing buffer or
// weight of the right dtype, row rule and shape (kernel_families.h); only the in-place pairs the
// family allows alias; every buffer a launch reads was written earlier in the phase (or is an
// input or a KV cache); weight sizes match their type and dims.
//
// Every failure is a greta::Error starting with `label` and naming the field path and value.
//
// Thread-safety: pure functions.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/bundle/manifest.h"

#include <string>

namespace greta::bundle {

/// Checks the manifest's internal consistency (nothing outside it is read).
void validateManifest(const Manifest &manifest, const std::string &label);

/// Checks that every weight of an `embed` manifest lies inside a weights.bin of `fileSize` bytes
/// (`fileLabel` names it in errors).
void validateEmbeddedRanges(const Manifest &manifest, uint64_t fileSize,
                            const std::string &fileLabel);

/// Integer value of a Dim parameter of `kernel` (validated manifests only; Error otherwise).
int64_t dimParam(const KernelSpec &kernel, std::string_view name);
/// Number parameter (integers accepted).
double numberParam(const KernelSpec &kernel, std::string_view name);
/// String parameter.
const std::string &stringParam(const KernelSpec &kernel, std::string_view name);
bool boolParam(const KernelSpec &kernel, std::string_view name);
/// The RoPE frequency-divisor weight a `freqs` parameter names, or nullopt for none.
std::optional<std::string> ropeFreqsParam(const KernelSpec &kernel);

} // namespace greta::bundle
