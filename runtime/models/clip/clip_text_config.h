#pragma once
// The shape of CLIP's text encoder as transformers' CLIPTextConfig writes it (the
// text_encoder/config.json of a Stable Diffusion pipeline folder, and SDXL's
// text_encoder_2/, a CLIPTextModelWithProjection).

#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "kernels/ref/activations.h"

namespace genrt {

struct ClipTextConfig {
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t max_position_embeddings = 0;  // the longest prompt in tokens (77)
  double layer_norm_eps = 1e-5;
  // hidden_act: quick_gelu (SD 1.x's OpenAI CLIP), gelu (SD 2.x's OpenCLIP) or gelu_new.
  ref::Activation hidden_act = ref::Activation::gelu_quick;
  // A CLIPTextModelWithProjection's text_projection width; 0 for a CLIPTextModel.
  int64_t projection_dim = 0;
  // Where the pooled output is taken: 2 (the value of configs older than transformers'
  // PR #24773, SDXL's among them) means at the largest token id of each prompt, any other
  // value at the first token of that id.
  int64_t eos_token_id = 49407;

  bool with_projection() const { return projection_dim > 0; }

  int64_t head_dim() const { return hidden_size / num_attention_heads; }
  int64_t parameter_count() const;
};

// Parses a config.json of a CLIPTextModel or CLIPTextModelWithProjection; errors name
// `where` and the field.
ClipTextConfig clip_text_config_from_json(const nlohmann::json& config, const std::string& where);

}  // namespace genrt
