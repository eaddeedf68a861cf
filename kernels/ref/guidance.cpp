#include "kernels/ref/guidance.h"

namespace genrt::ref {

void guidance_input(const float* latents, float scale, float* out, int64_t n, int64_t copies) {
  for (int64_t copy = 0; copy < copies; ++copy) {
    for (int64_t i = 0; i < n; ++i) out[copy * n + i] = latents[i] * scale;
  }
}

void guidance_combine(const GuidanceArgs& a) {
  for (int64_t i = 0; i < a.batch * a.channels * a.pixels; ++i) a.eps[i] = guided_eps(a, i);
}

}  // namespace genrt::ref
