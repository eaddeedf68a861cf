#pragma once
// Op entries of the diffusion loop: patch layouts, classifier-free guidance, the
// scheduler step, seeded noise, the NaN check, and the latents' per-channel normalization
// into and out of the VAE. Same contract as ops.h: check, then run.
// Images and latents are f32 on every device; tokens are in the model's dtype.

#include <cstdint>

#include "kernels/ref/channel_affine.h"
#include "kernels/ref/scheduler_step.h"
#include "runtime/core/tensor.h"

namespace genrt::ops {

// image [batch, channels, height, width] -> tokens [batch, patches, channels * patch^2] in
// Conv2d weight order, and DiT's output tokens [batch, patches, patch^2 * channels] back
// to an image (see ref::patchify).
void patchify(const Tensor& image, int64_t patch, Tensor& tokens);
void unpatchify(const Tensor& tokens, int64_t patch, Tensor& image);

// out = copies of latents * scale along the batch: latents [batch, ...], out [k * batch, ...].
void guidance_input(const Tensor& latents, float scale, Tensor& out);

// eps [batch, channels, h, w] from model_output [(guided ? 2 : 1) * batch, out_channels, h, w]
// (see ref::guidance_combine).
void guidance_combine(const Tensor& model_output, bool guided, float guidance, Tensor& eps);

// One scheduler step in place on `sample`; x0_history (the previous x0, replaced by this
// step's) and noise may be undefined when the coefficients do not use them.
void scheduler_step(const ref::StepCoefficients& c, const Tensor& model_output, Tensor& sample,
                    Tensor& x0_history, const Tensor& noise);

// out = x * scale[c] + shift[c] per channel c (see ref::channel_affine) over x, out
// [batch, affine.channels, height, width], out on x's device; out may be x.
void channel_affine(const Tensor& x, const ref::ChannelAffine& affine, Tensor& out);

// Fills out with standard normal values of the Philox stream (seed, stream).
void gaussian_noise(uint64_t seed, uint64_t stream, Tensor& out);

// How many values of x are NaN or infinite. On the GPU `counter` (one i32 on the device)
// holds the count, and the call waits for the stream; on the CPU it is unused.
int64_t count_nonfinite(const Tensor& x, Tensor& counter);

}  // namespace genrt::ops
