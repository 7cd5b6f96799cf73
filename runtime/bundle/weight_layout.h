//===- weight_layout.h - A GGUF tensor in the layout the kernels read -------===//
//
// The writer stores embedded weights in their kernel layout, and the loader produces the same
// bytes from the source GGUF for external weights: both call this one function, so an embedded
// and an external bundle of one model hand the kernels identical bytes. Layouts:
//   ggml     - the GGUF bytes unchanged;
//   f16_rows - every row dequantized and rounded to IEEE binary16, row-major [N, K].
// Backend-specific repacks are added here when their backends arrive.
//
// Thread-safety: pure functions; repackRows may run concurrently on disjoint row ranges.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/formats/gguf.h"

#include <cstdint>
#include <span>
#include <string_view>

namespace greta::bundle {

/// True for the layouts this runtime can produce from a GGUF tensor.
bool canProduceLayout(std::string_view layout);

/// The tensor type the kernels read for `source` stored in `layout` (F16 for f16_rows).
/// Throws greta::Error naming the tensor for a layout canProduceLayout() refuses.
TensorType layoutType(const GgufTensorInfo &source, std::string_view layout);

/// Bytes of `source` in `layout`.
uint64_t layoutBytes(const GgufTensorInfo &source, std::string_view layout);

/// Writes rows [rowBegin, rowEnd) of `source` in `layout` into `dst`, which holds the whole
/// tensor (layoutBytes bytes).
void repackRows(const GgufTensorInfo &source, std::string_view layout, uint64_t rowBegin,
                uint64_t rowEnd, std::span<uint8_t> dst);

/// The whole tensor (all rows; large tensors split over `threads` threads).
void repackTensor(const GgufTensorInfo &source, std::string_view layout, std::span<uint8_t> dst,
                  unsigned threads = 1);

} // namespace greta::bundle
