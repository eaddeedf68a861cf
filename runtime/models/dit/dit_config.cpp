#include "runtime/models/dit/dit_config.h"

#include <nlohmann/json.hpp>

#include "runtime/core/error.h"
#include "runtime/io/json_file.h"

namespace genrt {

int64_t DitConfig::parameter_count() const {
  const int64_t d = inner_dim(), f = ff_dim(), t = kDitTimestepChannels;
  // Every block carries its own copy of the timestep MLP and class table (diffusers keeps
  // one per AdaLayerNormZero), then the adaLN projection, attention and MLP.
  const int64_t conditioning = t * d + d + d * d + d + (num_classes + 1) * d;
  const int64_t block = conditioning + d * 6 * d + 6 * d + 4 * (d * d + d) + d * f + f + f * d + d;
  return patch_dim() * d + d + num_layers * block + d * 2 * d + 2 * d + d * out_patch_dim() +
         out_patch_dim();
}

nlohmann::json DitConfig::to_json() const {
  nlohmann::json j = {
      {"_class_name", "DiTTransformer2DModel"},
      {"activation_fn", gelu == ref::Activation::gelu_tanh ? "gelu-approximate" : "gelu"},
      {"attention_bias", true},
      {"attention_head_dim", attention_head_dim},
      {"dropout", 0.0},
      {"in_channels", in_channels},
      {"norm_elementwise_affine", false},
      {"norm_eps", norm_eps},
      {"norm_type", "ada_norm_zero"},
      {"num_attention_heads", num_attention_heads},
      {"num_embeds_ada_norm", num_classes},
      {"num_layers", num_layers},
      {"out_channels", out_channels},
      {"patch_size", patch_size},
      {"sample_size", sample_size},
  };
  if (random_weights) j["genrt_random_weights"] = true;
  return j;
}

namespace {

DitConfig parse_dit_config(const nlohmann::json& j, const std::string& where) {
  GENRT_CHECK(j.is_object(), "{}: expected a JSON object", where);
  GENRT_CHECK(j.contains("_class_name") || !j.contains("architectures"),
              "{}: a transformers model ({}), not a DiT (DiTTransformer2DModel)", where, j["architectures"].dump());
  const auto class_name = json_optional<std::string>(j, "_class_name", "DiTTransformer2DModel", where);
  GENRT_CHECK(class_name == "DiTTransformer2DModel" || class_name == "Transformer2DModel",
              "{}: _class_name '{}' is not a DiT (DiTTransformer2DModel)", where, class_name);
  DitConfig c;
  c.num_attention_heads = json_optional<int64_t>(j, "num_attention_heads", 16, where);
  c.attention_head_dim = json_optional<int64_t>(j, "attention_head_dim", 72, where);
  c.in_channels = json_optional<int64_t>(j, "in_channels", 4, where);
  c.out_channels = j.contains("out_channels") && !j["out_channels"].is_null()
                       ? json_required<int64_t>(j, "out_channels", where)
                       : c.in_channels;
  c.num_layers = json_optional<int64_t>(j, "num_layers", 28, where);
  c.sample_size = json_optional<int64_t>(j, "sample_size", 32, where);
  c.patch_size = json_optional<int64_t>(j, "patch_size", 2, where);
  GENRT_CHECK(j.contains("num_embeds_ada_norm") && !j["num_embeds_ada_norm"].is_null(),
              "{}: num_embeds_ada_norm is required: genrt runs class-conditional DiTs", where);
  c.num_classes = json_required<int64_t>(j, "num_embeds_ada_norm", where);
  c.norm_eps = json_optional<double>(j, "norm_eps", 1e-5, where);
  c.random_weights = json_optional<bool>(j, "genrt_random_weights", false, where);
  const std::pair<const char*, int64_t> positive[] = {
      {"num_attention_heads", c.num_attention_heads}, {"attention_head_dim", c.attention_head_dim},
      {"in_channels", c.in_channels},                 {"out_channels", c.out_channels},
      {"num_layers", c.num_layers},                   {"sample_size", c.sample_size},
      {"patch_size", c.patch_size},                   {"num_embeds_ada_norm", c.num_classes}};
  for (const auto& [name, value] : positive) {
    GENRT_CHECK(value > 0, "{}: {} = {} must be positive", where, name, value);
  }
  GENRT_CHECK(c.sample_size % c.patch_size == 0,
              "{}: sample_size {} is not a multiple of patch_size {}", where, c.sample_size,
              c.patch_size);
  GENRT_CHECK(c.out_channels == c.in_channels || c.learned_sigma(),
              "{}: out_channels {} must be in_channels {} or twice it (learned sigma)", where,
              c.out_channels, c.in_channels);
  GENRT_CHECK(c.inner_dim() % 4 == 0,
              "{}: the 2-D sin-cos position embedding needs a width divisible by 4, got {}", where,
              c.inner_dim());
  const auto norm_type = json_optional<std::string>(j, "norm_type", "ada_norm_zero", where);
  GENRT_CHECK(norm_type == "ada_norm_zero", "{}: norm_type '{}' is not supported (ada_norm_zero)",
              where, norm_type);
  GENRT_CHECK(!json_optional<bool>(j, "norm_elementwise_affine", false, where),
              "{}: norm_elementwise_affine = true is not supported", where);
  GENRT_CHECK(json_optional<bool>(j, "attention_bias", true, where),
              "{}: attention_bias = false is not supported", where);
  const auto act = json_optional<std::string>(j, "activation_fn", "gelu-approximate", where);
  if (act == "gelu-approximate") {
    c.gelu = ref::Activation::gelu_tanh;
  } else if (act == "gelu") {
    c.gelu = ref::Activation::gelu_erf;
  } else {
    fail("{}: activation_fn '{}' is not supported (gelu-approximate or gelu)", where, act);
  }
  return c;
}

}  // namespace

DitConfig dit_config_from_json(const nlohmann::json& config, const std::string& where) {
  return parse_config_json(config, where, parse_dit_config);
}

}  // namespace genrt
