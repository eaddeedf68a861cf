#pragma once
// The sinusoidal timestep features of diffusers' Timesteps (get_timestep_embedding), which
// feed the timestep MLPs of the DiT and the UNet; computed on the host.

#include <cstdint>
#include <span>

namespace genrt::blocks {

struct TimestepFeatureParams {
  bool flip_sin_to_cos = true;     // cos then sin (else sin then cos)
  float downscale_freq_shift = 1;  // the DiT's 1; the UNet's freq_shift, 0 in SD
};

// out [timesteps.size(), channels]: for i < half = channels / 2, the angle
// t * 10000^(-i / (half - shift)) as cos and sin (in the order the params say), and a zero
// last column when channels is odd.
void timestep_features(std::span<const float> timesteps, int64_t channels, const TimestepFeatureParams& params,
                       float* out);

}  // namespace genrt::blocks
