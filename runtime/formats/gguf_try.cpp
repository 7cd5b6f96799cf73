//===- gguf_try.cpp - Opening GGUF files without exceptions ----------------===//
#include "runtime/formats/gguf_try.h"

#include <exception>

namespace greta {

std::unique_ptr<GgufFile> tryOpenGguf(const std::string &path, std::string *error) noexcept {
  try {
    return std::make_unique<GgufFile>(GgufFile::open(path));
  } catch (const std::exception &e) { // greta::Error, and allocation or mapping failures
    if (error)
      *error = e.what();
  }
  return nullptr;
}

} // namespace greta
