//===- cpu_kernel.cpp - Buffers and bindings of CPU launches ----------------===//
#include "runtime/cpu/cpu_kernel.h"

#include "runtime/bundle/manifest_validator.h"
#include "runtime/support/error.h"

namespace greta::cpu {

uint64_t CpuBuffer::rowsAt(uint64_t seq) const { return spec_->rows.rowsIn(seq, rowsAllocated_); }

uint64_t CpuBuffer::lastRowsOffset(uint64_t seq, uint64_t rows) const {
  const uint64_t have = rowsAt(seq);
  if (rows > have || have > rowsAllocated_)
    fail("buffer '{}': {} rows requested of the {} it holds at seq {} ({} allocated)", spec_->name,
         rows, have, seq, rowsAllocated_);
  return (have - rows) * cols();
}

float *CpuBuffer::lastRows(uint64_t seq, uint64_t rows) {
  return f32() + lastRowsOffset(seq, rows);
}

uint16_t *CpuBuffer::lastRowsF16(uint64_t seq, uint64_t rows) {
  return f16() + lastRowsOffset(seq, rows);
}

const int32_t *CpuBuffer::lastRowsI32(uint64_t seq, uint64_t rows) {
  return reinterpret_cast<const int32_t *>(lastRows(seq, rows));
}

CpuBuffer &LaunchBinding::buffer(const std::string &arg) const {
  auto it = buffers_.find(arg);
  if (it == buffers_.end())
    fail("{}: no buffer bound to argument '{}'", label_, arg);
  return *it->second;
}

const WeightView &LaunchBinding::weight(const std::string &arg) const {
  auto it = weights_.find(arg);
  if (it == weights_.end())
    fail("{}: no weight bound to argument '{}'", label_, arg);
  return it->second;
}

int64_t LaunchBinding::dim(std::string_view param) const {
  return bundle::dimParam(kernel_, param);
}
double LaunchBinding::number(std::string_view param) const {
  return bundle::numberParam(kernel_, param);
}
const std::string &LaunchBinding::string(std::string_view param) const {
  return bundle::stringParam(kernel_, param);
}
bool LaunchBinding::flag(std::string_view param) const { return bundle::boolParam(kernel_, param); }

std::vector<float> LaunchBinding::ropeFreqs() const {
  auto name = bundle::ropeFreqsParam(kernel_);
  if (!name)
    return {};
  return dequantizeWeight(resolveWeight_(*name));
}

} // namespace greta::cpu
