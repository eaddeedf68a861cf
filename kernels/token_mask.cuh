#pragma once
// Token masks on the logits, on the GPU (see kernels/ref/token_mask.h): a thread per
// logit, a column of the grid's blocks per logits row.

#include <cuda_runtime_api.h>

#include "kernels/ref/token_mask.h"

namespace genrt::kernels {

// Every pointer of args in device memory.
cudaError_t launch_mask_tokens(const ref::TokenMaskArgs& args, cudaStream_t stream);

}  // namespace genrt::kernels
