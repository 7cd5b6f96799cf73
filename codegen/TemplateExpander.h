//===- TemplateExpander.h - Fills kernel templates ---------------*- C++ -*-===//
//
// Kernel templates (codegen/templates/*.hip) are HIP C++ with four kinds of tags:
//
//   {{NAME}}              the value of NAME
//   {{#FLAG}} … {{/FLAG}} the text between, when FLAG is true
//   {{^FLAG}} … {{/FLAG}} the text between, when FLAG is false
//   {{> path}}            the template at `path` (e.g. `common/reduce`), expanded in place
//
// A section or include tag alone on its line takes the whole line with it, so the emitted
// source has no blank scars where a section was left out. Every name must be defined: an
// unknown value, flag or template is an error naming it and the template, never empty text.
//
// Thread-safety: pure functions over the embedded template table.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"

#include <optional>
#include <string>

namespace greta::codegen {

struct TemplateValues {
  llvm::StringMap<std::string> values;
  llvm::StringMap<bool> flags;
};

/// The text of the embedded template `path` ("matmul_gemv", "quant/q4_k"), or nullopt.
std::optional<llvm::StringRef> findTemplate(llvm::StringRef path);

/// Expands the template `path`. On failure returns nullopt and sets `error`.
std::optional<std::string> expandTemplate(llvm::StringRef path, const TemplateValues &values,
                                          std::string &error);

} // namespace greta::codegen
