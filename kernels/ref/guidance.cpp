#include "kernels/ref/guidance.h"

namespace genrt::ref {

void guidance_input(const float* latents, float scale, float* out, int64_t n, int64_t copies) {
  for (int64_t copy = 0; copy < copies; ++copy) {
    for (int64_t i = 0; i < n; ++i) out[copy * n + i] = latents[i] * scale;
  }
}

void guidance_combine(const GuidanceArgs& a) {
  const int64_t sample_stride = a.out_channels * a.pixels;
  for (int64_t b = 0; b < a.batch; ++b) {
    const float* cond = a.model_output + b * sample_stride;
    const float* uncond = a.model_output + (a.batch + b) * sample_stride;
    float* eps = a.eps + b * a.channels * a.pixels;
    for (int64_t i = 0; i < a.channels * a.pixels; ++i) {
      eps[i] = a.guided ? uncond[i] + a.guidance * (cond[i] - uncond[i]) : cond[i];
    }
  }
}

}  // namespace genrt::ref
