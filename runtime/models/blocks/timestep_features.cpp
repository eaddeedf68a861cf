#include "runtime/models/blocks/timestep_features.h"

#include <cmath>

namespace genrt::blocks {

void timestep_features(std::span<const float> timesteps, int64_t channels, const TimestepFeatureParams& p,
                       float* out) {
  const int64_t half = channels / 2;
  const int64_t cos_at = p.flip_sin_to_cos ? 0 : half, sin_at = p.flip_sin_to_cos ? half : 0;
  for (size_t b = 0; b < timesteps.size(); ++b) {
    float* row = out + static_cast<int64_t>(b) * channels;
    for (int64_t i = 0; i < half; ++i) {
      // fp32 like diffusers: exp(-ln(10000) * i / (half - shift)), then t * freq.
      const float freq =
          std::exp(-std::log(10000.0f) * static_cast<float>(i) / (static_cast<float>(half) - p.downscale_freq_shift));
      const float angle = timesteps[b] * freq;
      row[cos_at + i] = std::cos(angle);
      row[sin_at + i] = std::sin(angle);
    }
    if (channels % 2 == 1) row[channels - 1] = 0.0f;
  }
}

}  // namespace genrt::blocks
