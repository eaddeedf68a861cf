#include "runtime/backend/cuda/cuda_sampling_ops.h"

#include "kernels/penalties.cuh"
#include "kernels/sampling.cuh"
#include "kernels/token_logprobs.cuh"
#include "kernels/token_mask.cuh"
#include "runtime/backend/cuda/cuda_context.h"

namespace genrt::cuda_ops {

void apply_penalties(const ref::PenaltyArgs& args) {
  check_cuda(kernels::launch_apply_penalties(args, current_cuda_context().stream), "penalties kernel");
}

void sample(const ref::SamplingArgs& args) {
  check_cuda(kernels::launch_sampling(args, current_cuda_context().stream), "sampling kernel");
}

void token_logprobs(const ref::TokenLogprobsArgs& args) {
  check_cuda(kernels::launch_token_logprobs(args, current_cuda_context().stream), "token logprobs kernel");
}

void mask_tokens(const ref::TokenMaskArgs& args) {
  check_cuda(kernels::launch_mask_tokens(args, current_cuda_context().stream), "token mask kernel");
}

}  // namespace genrt::cuda_ops
