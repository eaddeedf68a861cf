#pragma once
// The CUDA side of the sampling op entries (runtime/backend/sampling_ops.cpp): the entry
// has checked the tensors and filled the argument structs with their device pointers;
// these launch on the current CudaContext's stream.

#include "kernels/ref/penalties.h"
#include "kernels/ref/sampling.h"
#include "kernels/ref/token_logprobs.h"
#include "kernels/ref/token_mask.h"

namespace genrt::cuda_ops {

void apply_penalties(const ref::PenaltyArgs& args);
void sample(const ref::SamplingArgs& args);
void token_logprobs(const ref::TokenLogprobsArgs& args);
void mask_tokens(const ref::TokenMaskArgs& args);

}  // namespace genrt::cuda_ops
