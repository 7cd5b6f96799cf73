//===- gguf_try.h - Opening GGUF files without exceptions ------------------===//
//
// The compiler is built without C++ exceptions (LLVM's flags), so it cannot call GgufFile::open,
// which reports errors by throwing greta::Error. tryOpenGguf catches here, in runtime code, and
// hands the message back. Everything the compiler then reads through the returned file's
// non-throwing accessors (find, findTensor, tensors, metadata) is safe to call from it.
//
// Thread-safety: as GgufFile::open.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/formats/gguf.h"

#include <memory>
#include <string>

namespace greta {

/// Maps and validates `path`. On failure returns null and sets `*error` (when non-null) to the
/// reader's message, which names the file, the field and the limit.
std::unique_ptr<GgufFile> tryOpenGguf(const std::string &path, std::string *error) noexcept;

} // namespace greta
