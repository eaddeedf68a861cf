#pragma once
#include <cstdint>

#include "kernels/ref/activations.h"
#include "kernels/ref/host_device.h"

namespace genrt::ref {

// GroupNorm over NHWC images, as the UNet's and the VAE's ResNet blocks use it, with what
// comes around it fused: a per-sample channel vector added before (the ResNet's time
// embedding) and SiLU after.
//
//   v[b, p, c] = x[b, p, c] + channel_add[b, c]                (channel_add optional)
//   out[b, p, c] = act((v - mean[b, g]) * rstd[b, g] * weight[c] + bias[c])
//
// where group g = c / (channels / groups) and mean, rstd = 1 / sqrt(var + eps) are taken
// over the group's pixels * channels / groups values of sample b (biased variance, like
// PyTorch). The CPU reference below and the CUDA kernel (kernels/group_norm.cuh) share the
// arguments and group_norm_value; only their reductions are organized differently.
// T is float for the CPU reference; float, __half or __nv_bfloat16 for the kernel.
template <class T>
struct GroupNormArgs {
  const T* x = nullptr;            // [batch, pixels, channels]
  const T* channel_add = nullptr;  // [batch, channels] or nullptr
  const T* weight = nullptr;       // [channels] or nullptr
  const T* bias = nullptr;         // [channels] or nullptr
  T* out = nullptr;                // [batch, pixels, channels]; may alias x
  int64_t batch = 0, pixels = 0, channels = 0, groups = 1;
  float eps = 1e-5f;
  bool silu = false;
};

GENRT_HOST_DEVICE inline float group_norm_value(float v, float mean, float rstd, float weight, float bias, bool silu) {
  const float y = (v - mean) * rstd * weight + bias;
  return silu ? silu_value(y) : y;
}

void group_norm(const GroupNormArgs<float>& args);

}  // namespace genrt::ref
