#pragma once
// Penalties and biases on the logits of the tokens a row names, on the GPU (see
// kernels/ref/penalties.h): one block per row copies the row, then penalizes its tokens.

#include <cuda_runtime_api.h>

#include "kernels/ref/penalties.h"

namespace genrt::kernels {

// Every pointer of args in device memory. The rows' ranges and token ids are checked on the
// host before upload; out-of-range ones are skipped here, never read or written.
cudaError_t launch_apply_penalties(const ref::PenaltyArgs& args, cudaStream_t stream);

}  // namespace genrt::kernels
