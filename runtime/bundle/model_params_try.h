//===- model_params_try.h - Reading ModelParams without exceptions ---------===//
//
// readLlamaModelParams for code built without C++ exceptions (the compiler's importer): the
// greta::Error it throws is caught here, in runtime code, and its message handed back.
//
// Thread-safety: pure function.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/bundle/model_params.h"

#include <optional>
#include <string>

namespace greta::bundle {

/// readLlamaModelParams(gguf), or nullopt with `*error` (when non-null) set to its message,
/// which names the file and the key ("m.gguf: general.architecture is 'qwen2'; ...").
std::optional<ModelParams> tryReadLlamaModelParams(const GgufFile &gguf,
                                                   std::string *error) noexcept;

} // namespace greta::bundle
