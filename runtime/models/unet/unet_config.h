#pragma once
// The shape of a Stable Diffusion denoiser in diffusers' UNet2DConditionModel layout (SD 1.x,
// 2.x and XL): a convolutional encoder-decoder over the latents with skip connections, ResNet
// blocks conditioned on the timestep (and SDXL's added text and size embedding), and
// transformer blocks that cross-attend to the text.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace genrt {

// One level of the UNet: its down block and the up block that mirrors it.
struct UnetLevel {
  int64_t channels = 0;            // block_out_channels[i]
  int64_t layers = 0;              // ResNet layers of the down block (the up block has one more)
  bool down_attention = false;     // CrossAttnDownBlock2D (else DownBlock2D)
  bool up_attention = false;       // CrossAttnUpBlock2D (else UpBlock2D), the up block at this level
  int64_t heads = 0;               // attention heads of its transformer blocks
  int64_t transformer_layers = 1;  // transformer blocks in each Transformer2DModel
};

// SDXL's addition_embed_type "text_time": an embedding added to the timestep's, made by
// add_embedding (linear, SiLU, linear) from the pooled text embedding followed by the
// sinusoidal features of the "time ids": six of size and crop for SDXL's base model, five
// (size, crop, aesthetic score) for its refiner. The config does not say which: the
// pipeline does (model_index.json's requires_aesthetics_score).
struct UnetTextTimeEmbedding {
  int64_t time_embed_dim = 0;  // addition_time_embed_dim: features per time id
  int64_t input_dim = 0;       // projection_class_embeddings_input_dim: pooled text + time ids
  int64_t time_ids = kTimeIds;  // per sample

  static constexpr int64_t kTimeIds = 6;  // original (h, w), crop top-left (y, x), target (h, w)
  static constexpr int64_t kAestheticTimeIds = 5;  // original (h, w), crop top-left (y, x), aesthetic score
  int64_t time_features() const { return time_ids * time_embed_dim; }
  int64_t text_embeds_dim() const { return input_dim - time_features(); }
};

struct UnetConfig {
  int64_t in_channels = 4, out_channels = 4;
  int64_t sample_size = 64;       // the latent size it was trained at
  std::vector<UnetLevel> levels;  // down_blocks[i] and up_blocks[levels - 1 - i]
  int64_t cross_attention_dim = 768;
  int64_t norm_num_groups = 32;
  double norm_eps = 1e-5;
  bool use_linear_projection = false;
  bool flip_sin_to_cos = true;
  double freq_shift = 0;
  bool random_weights = false;  // written by genrt init-model
  std::optional<UnetTextTimeEmbedding> text_time;  // SDXL's added conditioning

  int64_t time_embed_dim() const { return 4 * levels.front().channels; }
  // How much smaller the innermost level is than the latents: latent sizes must divide by it.
  int64_t downscale() const { return int64_t{1} << (levels.size() - 1); }
};

// Parses a diffusers config.json of a UNet2DConditionModel; errors name `where` and the
// field, and settings genrt does not run (added embeddings other than SDXL's "text_time",
// class embeddings, a time-scale-shift norm, other block types) are refused by name.
// `time_ids`: how many time ids per sample a "text_time" embedding takes (see
// UnetTextTimeEmbedding).
UnetConfig unet_config_from_json(const nlohmann::json& config, const std::string& where,
                                 int64_t time_ids = UnetTextTimeEmbedding::kTimeIds);

}  // namespace genrt
