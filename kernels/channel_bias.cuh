#pragma once
// out[row, c] += bias[c] over rows of `channels` values: the bias of a convolution whose
// cuDNN engine cannot fuse it (channel counts such as SD's 3 and 4, which cuDNN's fusion
// engines refuse), added in place after the convolution.

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime_api.h>

#include <cstdint>

namespace genrt::kernels {

// T is float, __half or __nv_bfloat16; the sum is taken in fp32 and rounded once.
template <class T>
cudaError_t launch_add_channel_bias(T* out, const T* bias, int64_t rows, int64_t channels, cudaStream_t stream);

}  // namespace genrt::kernels
