#pragma once
// The fixed (not learned) embeddings of a DiT, computed on the host like diffusers does.

#include <cstdint>
#include <span>

namespace genrt {

// Sinusoidal timestep features [timesteps.size(), channels] of diffusers' Timesteps(
// flip_sin_to_cos=True, downscale_freq_shift=1): cos then sin of t * 10000^(-i / (half - 1)).
void timestep_features(std::span<const float> timesteps, int64_t channels, float* out);

// 2-D sin-cos position embedding [grid * grid, dim] of a square patch grid (diffusers'
// get_2d_sincos_pos_embed with base_size = grid): for the token at row r, column c, the
// first half encodes c and the second half r, each as sin then cos of pos * 10000^(-i/(dim/4)).
void sincos_2d_position_embedding(int64_t grid, int64_t dim, float* out);

}  // namespace genrt
