//===- cuda_errors.h - CUDA driver results as HIP errors -----------------------===//
//
// The switch generated from cuda_errors.def, exposed for tests and for code that holds a raw
// CUresult. Results it does not list map to hipErrorUnknown.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/hip/cuda/cuda_driver_types.h"
#include "runtime/hip/hip_api.h"

namespace greta::hip {

hipError_t hipErrorFromCudaResult(cuda::CUresult result);

} // namespace greta::hip
