#include "runtime/models/dit/dit_embeddings.h"

#include <cmath>

namespace genrt {

void timestep_features(std::span<const float> timesteps, int64_t channels, float* out) {
  const int64_t half = channels / 2;
  for (size_t b = 0; b < timesteps.size(); ++b) {
    float* row = out + static_cast<int64_t>(b) * channels;
    for (int64_t i = 0; i < half; ++i) {
      // fp32 like diffusers: exp(-ln(10000) * i / (half - 1)), then t * freq.
      const float freq = std::exp(-std::log(10000.0f) * static_cast<float>(i) /
                                  static_cast<float>(half - 1));
      const float angle = timesteps[b] * freq;
      row[i] = std::cos(angle);
      row[half + i] = std::sin(angle);
    }
    if (channels % 2 == 1) row[channels - 1] = 0.0f;
  }
}

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
