//===- weight_layout.cpp - A GGUF tensor in the layout the kernels read -----===//
#include "runtime/bundle/weight_layout.h"

#include "runtime/bundle/manifest.h"
#include "runtime/formats/gguf_layout.h"
#include "runtime/formats/quant.h"
#include "runtime/support/checked_math.h"
#include "runtime/support/error.h"

#include <algorithm>
#include <cstring>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace greta::bundle {
namespace {

/// Below this many rows per thread, threads cost more than they save.
constexpr uint64_t kMinRowsPerThread = 64;

} // namespace

bool canProduceLayout(std::string_view layout) {
  return layout == kLayoutGgml || layout == kLayoutF16Rows;
}

TensorType layoutType(const GgufTensorInfo &source, std::string_view layout) {
  if (layout == kLayoutGgml)
    return source.type;
  if (layout == kLayoutF16Rows)
    return TensorType::F16;
  fail("tensor '{}': layout '{}' cannot be produced by this runtime (known: {}, {})", source.name,
       layout, kLayoutGgml, kLayoutF16Rows);
}

uint64_t layoutBytes(const GgufTensorInfo &source, std::string_view layout) {
  return gguf_layout::tensorBytes(layoutType(source, layout), source.dims,
                                  fmt::format("tensor '{}' in layout {}", source.name, layout));
}

void repackRows(const GgufTensorInfo &source, std::string_view layout, uint64_t rowBegin,
                uint64_t rowEnd, std::span<uint8_t> dst) {
  const TensorType type = layoutType(source, layout);
  const uint64_t k = source.dims.at(0);
  const uint64_t srcRow = rowBytes(source.type, k, source.name);
  const uint64_t dstRow = rowBytes(type, k, source.name);
  if (rowEnd > source.rows() || rowBegin > rowEnd ||
      checkedMul(source.rows(), dstRow, source.name) != dst.size())
    fail("tensor '{}': rows [{}, {}) or destination of {} bytes do not fit its {} rows",
         source.name, rowBegin, rowEnd, dst.size(), source.rows());
  if (layout == kLayoutGgml) {
    std::memcpy(dst.data() + rowBegin * dstRow, source.data.data() + rowBegin * srcRow,
                (rowEnd - rowBegin) * srcRow);
    return;
  }
  std::vector<float> values(k);
  for (uint64_t r = rowBegin; r < rowEnd; ++r) {
    dequantizeRow(source.type, source.data.subspan(r * srcRow, srcRow), values);
    quantizeRow(type, values, dst.subspan(r * dstRow, dstRow));
  }
}

void repackTensor(const GgufTensorInfo &source, std::string_view layout, std::span<uint8_t> dst,
                  unsigned threads) {
  const uint64_t rows = source.rows();
  const uint64_t workers = std::clamp<uint64_t>(rows / kMinRowsPerThread, 1, std::max(threads, 1u));
  if (workers == 1 || layout == kLayoutGgml) {
    repackRows(source, layout, 0, rows, dst);
    return;
  }
  std::exception_ptr firstError;
  std::mutex errorMutex;
  {
    std::vector<std::jthread> pool;
    for (uint64_t w = 0; w < workers; ++w)
      pool.emplace_back([&, w] {
        try {
          repackRows(source, layout, rows * w / workers, rows * (w + 1) / workers, dst);
        } catch (...) {
          std::lock_guard lock(errorMutex);
          if (!firstError)
            firstError = std::current_exception();
        }
      });
  }
  if (firstError)
    std::rethrow_exception(firstError);
}

} // namespace greta::bundle
