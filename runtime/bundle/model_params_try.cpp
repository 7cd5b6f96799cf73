//===- model_params_try.cpp - Reading ModelParams without exceptions -------===//
#include "runtime/bundle/model_params_try.h"

#include <exception>

namespace greta::bundle {

std::optional<ModelParams> tryReadLlamaModelParams(const GgufFile &gguf,
                                                   std::string *error) noexcept {
  try {
    return readLlamaModelParams(gguf);
  } catch (const std::exception &e) {
    if (error)
      *error = e.what();
  }
  return std::nullopt;
}

} // namespace greta::bundle
