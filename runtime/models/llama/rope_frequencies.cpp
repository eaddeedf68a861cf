#include "runtime/models/llama/rope_frequencies.h"

#include <cmath>
#include <numbers>

namespace genrt {

std::vector<float> rope_inv_frequencies(const LlamaConfig& config) {
  const int64_t half = config.head_dim / 2;
  const RopeScaling& s = config.rope_scaling;
  std::vector<float> inv_freq(static_cast<size_t>(half));
  for (int64_t i = 0; i < half; ++i) {
    // fp32 exponent and power, the way transformers and llama2.c compute the table.
    const float exponent = static_cast<float>(2 * i) / static_cast<float>(config.head_dim);
    float f = 1.0f / std::pow(static_cast<float>(config.rope_theta), exponent);
    if (s.type == "linear") {
      f /= static_cast<float>(s.factor);
    } else if (s.type == "llama3") {
      // Long wavelengths are slowed by `factor`, short ones kept, the band between
      // interpolated smoothly.
      const double wavelength = 2 * std::numbers::pi / f;
      const double low_freq_wavelength = s.original_max_position_embeddings / s.low_freq_factor;
      const double high_freq_wavelength = s.original_max_position_embeddings / s.high_freq_factor;
      if (wavelength > low_freq_wavelength) {
        f /= static_cast<float>(s.factor);
      } else if (wavelength >= high_freq_wavelength) {
        const double smooth = (s.original_max_position_embeddings / wavelength - s.low_freq_factor) /
                              (s.high_freq_factor - s.low_freq_factor);
        f = static_cast<float>((1 - smooth) * f / s.factor + smooth * f);
      }
    }
    inv_freq[i] = f;
  }
  return inv_freq;
}

}  // namespace genrt
