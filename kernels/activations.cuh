#pragma once
// Elementwise activations on the GPU (see kernels/ref/activations.h for the op, its
// arguments and the per-element formulas): fp32 math on T storage, one pass.

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime_api.h>

#include "kernels/ref/activations.h"

namespace genrt::kernels {

// T is float, __half or __nv_bfloat16.
template <class T>
cudaError_t launch_activation(const ref::ActivationArgs<T>& args, cudaStream_t stream);

}  // namespace genrt::kernels
