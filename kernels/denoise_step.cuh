#pragma once
// The elementwise work of a denoising step around the model call, on fp32 latents (see
// kernels/ref/guidance.h, scheduler_step.h, philox.h), and the latents' per-channel
// normalization into and out of the VAE (channel_affine.h): the kernels evaluate the same
// per-element formulas as the CPU reference, so both backends agree to rounding.

#include <cuda_runtime_api.h>

#include <cstdint>

#include "kernels/ref/channel_affine.h"
#include "kernels/ref/guidance.h"
#include "kernels/ref/scheduler_step.h"

namespace genrt::kernels {

// out [copies * n] = copies of latents [n] * scale.
cudaError_t launch_guidance_input(const float* latents, float scale, float* out, int64_t n, int64_t copies,
                                  cudaStream_t stream);

cudaError_t launch_guidance_combine(const ref::GuidanceArgs& args, cudaStream_t stream);

cudaError_t launch_scheduler_step(const ref::SchedulerStepArgs& args, cudaStream_t stream);

// out[i] = ref::philox_normal(seed, stream_id, i).
cudaError_t launch_gaussian_noise(uint64_t seed, uint64_t stream_id, float* out, int64_t n, cudaStream_t stream);

// out[b, c, p] = fma(x[b, c, p], scale[c], shift[c]) (ref::channel_affine); out may be x.
cudaError_t launch_channel_affine(const ref::ChannelAffineArgs& args, cudaStream_t stream);

// Adds the number of NaN or infinite values of x [n] to *count (device memory; the caller
// zeroes it first).
cudaError_t launch_count_nonfinite(const float* x, int64_t n, unsigned* count, cudaStream_t stream);

}  // namespace genrt::kernels
