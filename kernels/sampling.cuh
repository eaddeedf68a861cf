#pragma once
// Sampling from logits on the GPU, one block per row with the row's own parameters:
// greedy rows take the first largest logit; the others are filtered by thresholds found
// by bisection (no sort) and drawn with Philox -- the algorithm, formulas and fp32
// summation order of the CPU reference, kernels/ref/sampling.h, so a seed draws the same
// tokens on both devices.

#include <cuda_runtime_api.h>

#include "kernels/ref/sampling.h"

namespace genrt::kernels {

// args.logits [rows, vocab], args.params [rows] and args.out [rows] in device memory. The
// parameters are not checked here (they are in device memory): the op entry checks them
// on the host before they are uploaded.
cudaError_t launch_sampling(const ref::SamplingArgs& args, cudaStream_t stream);

}  // namespace genrt::kernels
