//===- gguf_layout.h - GGUF on-disk rules shared by the reader and writer --===//
//
// The constants and checks that both sides of the format must agree on: the magic, the versions,
// the encoded size of each metadata value type, the alignment rule and the shape rule of a
// tensor. The reader applies them to untrusted input and the writer to its caller's input, so a
// file GgufWriter produces is always one GgufFile accepts.
//
// Thread-safety: stateless functions, safe from any thread.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/formats/gguf.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace greta::gguf_layout {

/// "GGUF" as the first four bytes of the file (read as a little-endian uint32: 0x46554747).
inline constexpr uint32_t kMagic = 0x46554747;
inline constexpr uint32_t kMinVersion = 2;     ///< v1 used 32-bit counts and lengths
inline constexpr uint32_t kMaxVersion = 3;     ///< v3 only added big-endian files (refused here)
inline constexpr uint32_t kWriteVersion = 3;
inline constexpr uint32_t kDefaultAlignment = 32;
inline constexpr uint32_t kMaxDims = 4;        ///< GGML_MAX_DIMS
inline constexpr std::string_view kAlignmentKey = "general.alignment";

/// Header: magic, version, tensor count, metadata count.
inline constexpr uint64_t kHeaderBytes = 4 + 4 + 8 + 8;
/// Smallest metadata entry: empty key (8-byte length), value type, a one-byte value.
inline constexpr uint64_t kMinMetadataEntryBytes = 8 + 4 + 1;
/// Smallest tensor entry: empty name, dimension count, one dimension, type, offset.
inline constexpr uint64_t kMinTensorEntryBytes = 8 + 4 + 8 + 4 + 8;

/// The value type with id `id`, or nullopt for ids no GGUF version defines.
std::optional<GgufValueType> valueTypeFromId(uint32_t id);

/// Fewest bytes one value of `type` occupies in a file (a string's length field, an array's
/// element type and count), so a count can be checked against the bytes left before allocating.
uint64_t minEncodedBytes(GgufValueType type);

/// Bytes of a fixed-size scalar type; 0 for strings and arrays.
uint64_t scalarBytes(GgufValueType type);

/// True when `alignment` is a valid general.alignment: nonzero and a power of two.
bool isValidAlignment(uint64_t alignment);

/// Checks a tensor's shape and returns its byte size. `what` prefixes every message (e.g.
/// "model.gguf: tensor 3 'blk.0.attn_q.weight'"). Errors name the violated rule and the limit:
/// 1..kMaxDims dimensions, every dimension > 0, element count within int64 (ggml's index type),
/// dims[0] a multiple of the type's block size.
uint64_t tensorBytes(TensorType type, std::span<const uint64_t> dims, std::string_view what);

} // namespace greta::gguf_layout
