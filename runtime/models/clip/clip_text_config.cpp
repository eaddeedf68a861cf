#include "runtime/models/clip/clip_text_config.h"

#include <utility>

#include <nlohmann/json.hpp>

#include "runtime/core/error.h"
#include "runtime/io/json_file.h"

namespace genrt {

int64_t ClipTextConfig::parameter_count() const {
  const int64_t d = hidden_size, f = intermediate_size;
  const int64_t layer = 4 * d                // layer_norm1, layer_norm2
                        + 4 * (d * d + d)    // q_proj, k_proj, v_proj, out_proj
                        + d * f + f + f * d + d;  // fc1, fc2
  return vocab_size * d + max_position_embeddings * d + num_hidden_layers * layer + 2 * d + projection_dim * d;
}

namespace {

ClipTextConfig parse_clip_text_config(const nlohmann::json& j, const std::string& where) {
  GENRT_CHECK(j.is_object(), "{}: expected a JSON object", where);
  const auto model_type = json_optional<std::string>(j, "model_type", "clip_text_model", where);
  GENRT_CHECK(model_type == "clip_text_model", "{}: model_type '{}' is not a CLIP text encoder (clip_text_model)",
              where, model_type);
  bool with_projection = false;
  if (j.contains("architectures")) {
    const auto& architectures = j["architectures"];
    GENRT_CHECK(architectures.is_array() && architectures.size() == 1 &&
                    (architectures[0] == "CLIPTextModel" || architectures[0] == "CLIPTextModelWithProjection"),
                "{}: architectures {} is not supported (CLIPTextModel or CLIPTextModelWithProjection)", where,
                architectures.dump());
    with_projection = architectures[0] == "CLIPTextModelWithProjection";
  }
  ClipTextConfig c;
  if (with_projection) {
    c.projection_dim = json_required<int64_t>(j, "projection_dim", where);
    GENRT_CHECK(c.projection_dim > 0, "{}: projection_dim = {} must be positive", where, c.projection_dim);
  }
  // transformers' CLIPTextConfig default.
  c.eos_token_id = json_optional<int64_t>(j, "eos_token_id", 49407, where);
  c.vocab_size = json_required<int64_t>(j, "vocab_size", where);
  c.hidden_size = json_required<int64_t>(j, "hidden_size", where);
  c.intermediate_size = json_required<int64_t>(j, "intermediate_size", where);
  c.num_hidden_layers = json_required<int64_t>(j, "num_hidden_layers", where);
  c.num_attention_heads = json_required<int64_t>(j, "num_attention_heads", where);
  c.max_position_embeddings = json_required<int64_t>(j, "max_position_embeddings", where);
  c.layer_norm_eps = json_optional<double>(j, "layer_norm_eps", 1e-5, where);
  const std::pair<const char*, int64_t> positive[] = {
      {"vocab_size", c.vocab_size},
      {"hidden_size", c.hidden_size},
      {"intermediate_size", c.intermediate_size},
      {"num_hidden_layers", c.num_hidden_layers},
      {"num_attention_heads", c.num_attention_heads},
      {"max_position_embeddings", c.max_position_embeddings}};
  for (const auto& [name, value] : positive) {
    GENRT_CHECK(value > 0, "{}: {} = {} must be positive", where, name, value);
  }
  GENRT_CHECK(c.hidden_size % c.num_attention_heads == 0, "{}: hidden_size {} is not divisible by {} heads", where,
              c.hidden_size, c.num_attention_heads);
  GENRT_CHECK(c.layer_norm_eps > 0, "{}: layer_norm_eps {} must be positive", where, c.layer_norm_eps);
  const auto act = json_optional<std::string>(j, "hidden_act", "quick_gelu", where);
  if (act == "quick_gelu") {
    c.hidden_act = ref::Activation::gelu_quick;
  } else if (act == "gelu") {
    c.hidden_act = ref::Activation::gelu_erf;
  } else if (act == "gelu_new" || act == "gelu_pytorch_tanh") {
    c.hidden_act = ref::Activation::gelu_tanh;
  } else {
    fail("{}: hidden_act '{}' is not supported (quick_gelu, gelu, gelu_new or gelu_pytorch_tanh)", where, act);
  }
  return c;
}

}  // namespace

ClipTextConfig clip_text_config_from_json(const nlohmann::json& config, const std::string& where) {
  return parse_config_json(config, where, parse_clip_text_config);
}

}  // namespace genrt
