#pragma once
// The shape of Stable Diffusion's image autoencoder in diffusers' AutoencoderKL layout: a
// convolutional decoder from latents to pixels (and its encoder for image-to-image).

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace genrt {

struct VaeConfig {
  int64_t in_channels = 3, out_channels = 3;
  int64_t latent_channels = 4;
  std::vector<int64_t> block_out_channels;  // per level, outermost first
  int64_t layers_per_block = 1;
  int64_t norm_num_groups = 32;
  int64_t sample_size = 512;
  double scaling_factor = 0.18215;  // latents = encoded * scaling_factor
  // Per-channel statistics of the encoder's latents [latent_channels], both or neither
  // (empty): with them, diffusers' SDXL pipelines take latents = (encoded - latents_mean) *
  // scaling_factor / latents_std and decode latents * latents_std / scaling_factor +
  // latents_mean (playground-v2.5 ships them). Finite, std positive, as f32.
  std::vector<double> latents_mean, latents_std;
  // diffusers runs a VAE with force_upcast in f32 when the pipeline is in f16 (SDXL's
  // overflows f16); on the GPU genrt runs it in bf16 then, whose range is f32's.
  bool force_upcast = true;
  bool mid_block_attention = true;
  bool use_quant_conv = true;       // the encoder's 1x1 over the moments
  bool use_post_quant_conv = true;  // the decoder's 1x1 over the latents

  bool has_latent_statistics() const { return !latents_mean.empty(); }
  int64_t levels() const { return static_cast<int64_t>(block_out_channels.size()); }
  // Pixels per latent along each side: 2^(levels - 1), 8 for SD's VAEs.
  int64_t scale_factor() const { return int64_t{1} << (levels() - 1); }
};

// Parses a diffusers config.json of an AutoencoderKL; errors name `where` and the field.
VaeConfig vae_config_from_json(const nlohmann::json& config, const std::string& where);

}  // namespace genrt
