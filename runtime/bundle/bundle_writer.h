//===- bundle_writer.h - Write a bundle directory atomically ---------------===//
//
// The compiler's way out: it fills a BundleSpec (the manifest's program part plus the texts of
// the kernels and IR) and calls tryWriteBundle(). The writer completes what only the files can
// say — source identity, each weight's type, dims, offset, size and checksum, in the layout the
// spec asks for — validates the finished manifest with the loader's own checks, and writes
//
//   DIR.tmp-<pid>/{manifest.json, tokenizer.gguf, kernels/*.hip, ir/*, weights.bin}
//
// then renames it to DIR. On any failure the temporary directory is removed and DIR is
// untouched. An existing DIR is replaced only when it is a bundle (holds manifest.json) or empty.
//
// Filling a spec (see test/unit/support/llama_plan_fixture.cpp for a whole Llama plan):
//   BundleSpec spec;
//   spec.sourceGguf = "model.gguf";
//   spec.manifest.generator = "greta-compile 0.1.0";
//   spec.manifest.model = readLlamaModelParams(gguf);           // model_params.h
//   spec.manifest.weights.mode = WeightMode::Embed;             // or External
//   spec.manifest.weights.tensors = {{.name = "blk.0.attn_q.weight", .layout = "ggml"}, …};
//   spec.manifest.buffers = {…};  spec.manifest.kernels = {…};
//   spec.manifest.prefill = {…};  spec.manifest.decode = {…};
//   spec.kernelSources["decode_matmul_0"] = hipText;            // sets kernels[].source
//   spec.irFiles["final.mlir"] = irText;
//   std::string error;
//   if (!tryWriteBundle(spec, "model.greta", &error)) { report error }
//
// Thread-safety: independent calls may run concurrently on different directories.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/bundle/manifest.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace greta::bundle {

struct BundleSpec {
  /// The program. Filled by the writer: format, format_version, source, weights.file, and each
  /// weights.tensors entry's type, dims, offset, bytes and checksum (only name and layout are
  /// read from the spec); kernels[].source for kernels with a text in kernelSources.
  Manifest manifest;
  /// The GGUF compiled from: weights, tokenizer.* metadata and the source identity.
  std::string sourceGguf;
  /// kernel name → HIP C++ source, written to kernels/<name>.hip.
  std::map<std::string, std::string> kernelSources;
  /// file name → text, written under ir/ ("final.mlir", "03-fuse.mlir").
  std::map<std::string, std::string> irFiles;
  /// Ahead-of-time code objects: path in the bundle ("kernels/<name>.<target>.co", as a
  /// manifest.kernels[].code_objects entry names it) → bytes. hip::tryAddCodeObjects fills both.
  std::map<std::string, std::vector<uint8_t>> codeObjectFiles;
  /// Threads for repacking and checksumming weights (0: hardware threads).
  unsigned threads = 0;
};

/// Writes the bundle; throws greta::Error (naming the file, field, value and limit) on failure.
/// Returns the manifest as written.
Manifest writeBundle(const BundleSpec &spec, const std::string &dir);

/// The same for callers built without exceptions (the MLIR compiler): returns false and sets
/// *error (when error is not null) instead of throwing; never throws.
bool tryWriteBundle(const BundleSpec &spec, const std::string &dir, std::string *error) noexcept;

} // namespace greta::bundle
