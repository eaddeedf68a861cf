#include "kernels/ref/rope.h"

#include <cmath>

namespace genrt::ref {

void rope(float* x, const int32_t* positions, const float* inv_freq, int64_t tokens,
          int64_t heads, int64_t head_dim, RopeLayout layout) {
  const int64_t half = head_dim / 2;
  for (int64_t t = 0; t < tokens; ++t) {
    for (int64_t h = 0; h < heads; ++h) {
      float* head = x + (t * heads + h) * head_dim;
      for (int64_t i = 0; i < half; ++i) {
        // fp32 angle, as transformers computes it: the rounding of position * inv_freq
        // at long contexts is part of the model's numerics.
        const float angle = static_cast<float>(positions[t]) * inv_freq[i];
        const float cos_a = std::cos(angle);
        const float sin_a = std::sin(angle);
        float& x0 = layout == RopeLayout::rotate_half ? head[i] : head[2 * i];
        float& x1 = layout == RopeLayout::rotate_half ? head[i + half] : head[2 * i + 1];
        const float r0 = x0 * cos_a - x1 * sin_a;
        const float r1 = x0 * sin_a + x1 * cos_a;
        x0 = r0;
        x1 = r1;
      }
    }
  }
}

}  // namespace genrt::ref
