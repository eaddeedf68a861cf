#pragma once
#include <cstdint>

#include "kernels/ref/host_device.h"

namespace genrt::ref {

// The two ends of classifier-free guidance around one denoiser call.

// Model input: `copies` consecutive copies of latents [n] times `scale` (the scheduler's
// input scaling), the conditional half first.
void guidance_input(const float* latents, float scale, float* out, int64_t n, int64_t copies);

// The guided noise prediction eps [batch, channels, pixels] from the model output
// [copies * batch, out_channels, pixels], whose first `channels` channels predict the noise
// (a learned-sigma model appends as many variance channels, which are dropped):
//   guided:   eps = uncond + guidance * (cond - uncond), cond = sample b, uncond = batch + b
//   unguided: eps = cond
struct GuidanceArgs {
  const float* model_output = nullptr;
  float* eps = nullptr;
  int64_t batch = 0;
  int64_t channels = 0;
  int64_t out_channels = 0;
  int64_t pixels = 0;
  float guidance = 1.0f;
  bool guided = false;
};

void guidance_combine(const GuidanceArgs& args);

// eps value i of the [batch, channels, pixels] output.
GENRT_HOST_DEVICE inline float guided_eps(const GuidanceArgs& a, int64_t i) {
  const int64_t per_sample = a.channels * a.pixels, b = i / per_sample, within = i % per_sample;
  const float cond = a.model_output[b * a.out_channels * a.pixels + within];
  if (!a.guided) return cond;
  const float uncond = a.model_output[(a.batch + b) * a.out_channels * a.pixels + within];
  return uncond + a.guidance * (cond - uncond);
}

}  // namespace genrt::ref
