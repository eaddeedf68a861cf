#include "kernels/ref/gelu.h"

#include <cmath>
#include <numbers>

namespace genrt::ref {

void gelu(const float* x, float* out, int64_t n, GeluApprox approx) {
  const float sqrt_2_over_pi = static_cast<float>(std::sqrt(2.0 / std::numbers::pi));
  const float inv_sqrt_2 = static_cast<float>(1.0 / std::numbers::sqrt2);
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    if (approx == GeluApprox::tanh) {
      out[i] = 0.5f * v * (1.0f + std::tanh(sqrt_2_over_pi * (v + 0.044715f * v * v * v)));
    } else {
      out[i] = 0.5f * v * (1.0f + std::erf(v * inv_sqrt_2));
    }
  }
}

}  // namespace genrt::ref
