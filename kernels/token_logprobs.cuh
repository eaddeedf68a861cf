#pragma once
// Log-probabilities of the chosen and the most likely tokens on the GPU (see
// kernels/ref/token_logprobs.h): one block per requested row, so only those rows' few
// values leave the device.

#include <cuda_runtime_api.h>

#include "kernels/ref/token_logprobs.h"

namespace genrt::kernels {

// Every pointer of args in device memory; top_n at most ref::kMaxTopLogprobs. Row indices and
// chosen ids are checked on the host; out-of-range ones give NaN, never a stray read.
cudaError_t launch_token_logprobs(const ref::TokenLogprobsArgs& args, cudaStream_t stream);

}  // namespace genrt::kernels
