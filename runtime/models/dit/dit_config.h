#pragma once
// The shape of a DiT denoiser in diffusers' DiTTransformer2DModel layout (as in
// facebook/DiT-XL-2-256): latents cut into patches, adaLN-Zero transformer blocks
// conditioned on the timestep and a class label, and a learned-sigma output.

#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "kernels/ref/activations.h"

namespace genrt {

struct DitConfig {
  int64_t num_attention_heads = 0;
  int64_t attention_head_dim = 0;
  int64_t in_channels = 0;
  int64_t out_channels = 0;  // 2 * in_channels for a learned-sigma model
  int64_t num_layers = 0;
  int64_t sample_size = 0;  // latent height and width
  int64_t patch_size = 0;
  int64_t num_classes = 0;  // num_embeds_ada_norm; the null class of guidance is this id
  double norm_eps = 1e-5;   // the MLP's LayerNorm; the attention and final ones use 1e-6
  ref::Activation gelu = ref::Activation::gelu_tanh;
  bool random_weights = false;

  int64_t inner_dim() const { return num_attention_heads * attention_head_dim; }
  int64_t ff_dim() const { return 4 * inner_dim(); }
  int64_t tokens() const { return (sample_size / patch_size) * (sample_size / patch_size); }
  int64_t patch_dim() const { return in_channels * patch_size * patch_size; }
  int64_t out_patch_dim() const { return out_channels * patch_size * patch_size; }
  bool learned_sigma() const { return out_channels == 2 * in_channels; }
  int64_t parameter_count() const;
  nlohmann::json to_json() const;  // diffusers' config.json
};

// The width of the sinusoidal timestep features that feed the timestep MLP.
inline constexpr int64_t kDitTimestepChannels = 256;

// Parses a diffusers config.json of a DiTTransformer2DModel; errors name `where` and the field.
DitConfig dit_config_from_json(const nlohmann::json& config, const std::string& where);

}  // namespace genrt
