#pragma once
// Row normalizations on the GPU, one kernel for all of genrt's (see kernels/ref/norm.h for
// the op, its arguments and the per-element formulas): one pass over each row, the residual
// stream read and written once, the output written once, with fp32 statistics.

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime_api.h>

#include <cstdint>

#include "kernels/limits.h"
#include "kernels/ref/norm.h"

namespace genrt::kernels {

// T is float, __half or __nv_bfloat16; dim up to kMaxNormDim (kernels/limits.h). The
// statistics are of the residual as stored in T, so the stream and its normalized view agree.
template <class T>
cudaError_t launch_norm(const ref::NormArgs<T>& args, cudaStream_t stream);

}  // namespace genrt::kernels
