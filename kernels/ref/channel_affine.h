#pragma once
// A per-channel affine map over fp32 images [batch, channels, pixels] (NCHW):
//   out[b, c, p] = fma(x[b, c, p], scale[c], shift[c])
// The latents' normalization by a VAE's per-channel statistics on the way into and out of
// the VAE (diffusers' latents_mean and latents_std; see runtime/diffusion/sd_pipeline.cpp).
// fmaf rounds once on the host and on the device alike, so the two agree bit for bit.
// Header-only: the CUDA kernel (kernels/denoise_step.cu) evaluates the same function.

#include <cmath>
#include <cstdint>

#include "kernels/ref/host_device.h"

namespace genrt::ref {

// The coefficients, by value: the kernel takes them as a parameter (no device buffer, no
// upload). 16 channels are the widest latents of diffusers' KL autoencoders (SD3's and
// Flux's); SD's and SDXL's have 4.
struct ChannelAffine {
  static constexpr int64_t kMaxChannels = 16;
  int64_t channels = 0;
  float scale[kMaxChannels] = {};
  float shift[kMaxChannels] = {};
};

struct ChannelAffineArgs {
  ChannelAffine affine;
  const float* x = nullptr;  // [batch, affine.channels, pixels]
  float* out = nullptr;      // [batch, affine.channels, pixels]; may be x
  int64_t batch = 0;
  int64_t pixels = 0;
};

// Value i of the [batch, channels, pixels] output.
GENRT_HOST_DEVICE inline float channel_affine_value(const ChannelAffineArgs& a, int64_t i) {
  const int64_t c = (i / a.pixels) % a.affine.channels;
  return fmaf(a.x[i], a.affine.scale[c], a.affine.shift[c]);
}

inline void channel_affine(const ChannelAffineArgs& a) {
  const int64_t n = a.batch * a.affine.channels * a.pixels;
  for (int64_t i = 0; i < n; ++i) a.out[i] = channel_affine_value(a, i);
}

}  // namespace genrt::ref
