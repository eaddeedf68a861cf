#pragma once
// Nearest-neighbour 2x upsampling of NHWC images on the GPU (see kernels/ref/upsample.h):
// a grid-stride copy, each output element from ref::upsample_source.

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime_api.h>

#include "kernels/ref/upsample.h"

namespace genrt::kernels {

// T is float, __half or __nv_bfloat16 (only its size matters: the op copies).
template <class T>
cudaError_t launch_upsample_nearest2x(const ref::UpsampleShape& shape,
                                      const T* in,  // [batch, height, width, channels]
                                      T* out,       // [batch, 2 height, 2 width, channels]
                                      cudaStream_t stream);

}  // namespace genrt::kernels
