//===- gguf_metadata_reader.h - Decodes GGUF metadata values ---------------===//
//
// Reads one metadata value (scalar, string or array, arrays nested up to GgufLimits) from a
// cursor, validating type ids, bool bytes, string and array lengths before anything is allocated.
// Errors name the entry and the element path: "m.gguf: metadata 7 'tokenizer.ggml.tokens'[17]:
// string length too large (…)".
//
// Thread-safety: holds a reference to one cursor; use one per thread.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/formats/gguf.h"
#include "runtime/formats/gguf_cursor.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace greta {

class GgufMetadataReader {
public:
  /// `cursor` and `limits` must outlive the reader. Use one reader for all of a file's metadata,
  /// so that the limit on array elements in total applies across entries.
  GgufMetadataReader(GgufCursor &cursor, const GgufLimits &limits)
      : cursor_(cursor), limits_(limits) {}

  /// Reads a value type id and the value after it. `entry` names the entry in errors
  /// ("metadata 3 'general.name'").
  GgufValue readEntryValue(std::string_view entry);

private:
  /// The entry name plus the index path of the array element being read.
  std::string field() const;
  GgufValueType readValueType(std::string_view what);
  GgufValue readValue(GgufValueType type, uint32_t depth);
  GgufValue readArray(uint32_t depth);

  GgufCursor &cursor_;
  const GgufLimits &limits_;
  std::string_view entry_;
  std::vector<uint64_t> path_;
  uint64_t totalElements_ = 0; ///< in all arrays read so far, against maxTotalArrayElements
};

} // namespace greta
