#include "runtime/models/dit/dit_embeddings.h"

#include <cmath>

namespace genrt {

void sincos_2d_position_embedding(int64_t grid, int64_t dim, float* out) {
  const int64_t quarter = dim / 4;
  for (int64_t r = 0; r < grid; ++r) {
    for (int64_t c = 0; c < grid; ++c) {
      float* row = out + (r * grid + c) * dim;
      for (int64_t i = 0; i < quarter; ++i) {
        // fp64 like diffusers, rounded to fp32 once.
        const double omega = 1.0 / std::pow(10000.0, static_cast<double>(i) / quarter);
        row[i] = static_cast<float>(std::sin(c * omega));
        row[quarter + i] = static_cast<float>(std::cos(c * omega));
        row[2 * quarter + i] = static_cast<float>(std::sin(r * omega));
        row[3 * quarter + i] = static_cast<float>(std::cos(r * omega));
      }
    }
  }
}

}  // namespace genrt
