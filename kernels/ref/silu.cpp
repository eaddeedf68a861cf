#include "kernels/ref/silu.h"

#include <cmath>

namespace genrt::ref {

void silu(const float* x, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = x[i] / (1.0f + std::exp(-x[i]));
}

}  // namespace genrt::ref
