#include "runtime/models/unet/unet_config.h"

#include <nlohmann/json.hpp>

#include "runtime/core/error.h"
#include "runtime/io/json_file.h"

namespace genrt {

namespace {

// A field that configs write as one number for every block or as a list of one per block.
std::vector<int64_t> per_block(const nlohmann::json& j, const char* field, int64_t fallback, size_t blocks,
                               const std::string& where) {
  if (!j.contains(field) || j[field].is_null()) return std::vector<int64_t>(blocks, fallback);
  const nlohmann::json& value = j[field];
  const bool one = value.is_number_integer();
  GENRT_CHECK(one || (value.is_array() && value.size() == blocks),
              "{}: {} must be a number or a list of {} (one per block), got {}", where, field, blocks, value.dump());
  std::vector<int64_t> list;
  for (const auto& v : one ? nlohmann::json::array({value}) : value) {
    GENRT_CHECK(v.is_number_integer() && v.get<int64_t>() > 0, "{}: {} holds {}, expected positive integers", where,
                field, v.dump());
    list.push_back(v.get<int64_t>());
  }
  return one ? std::vector<int64_t>(blocks, list.front()) : list;
}

std::vector<std::string> block_types(const nlohmann::json& j, const char* field, const std::string& where) {
  GENRT_CHECK(j.contains(field) && j[field].is_array(), "{}: {} must be a list of block types", where, field);
  std::vector<std::string> types;
  for (const auto& v : j[field]) {
    GENRT_CHECK(v.is_string(), "{}: {} holds {}, expected block type names", where, field, v.dump());
    types.push_back(v.get<std::string>());
  }
  return types;
}

void expect_unset(const nlohmann::json& j, const char* field, const std::string& where, const char* what) {
  GENRT_CHECK(!j.contains(field) || j[field].is_null() || j[field] == false, "{}: {} = {} is not supported ({})",
              where, field, j.contains(field) ? j[field].dump() : "", what);
}

// addition_embed_type: none, or SDXL's "text_time" with its two widths.
std::optional<UnetTextTimeEmbedding> parse_text_time(const nlohmann::json& j, const std::string& where,
                                                     int64_t time_ids) {
  if (!j.contains("addition_embed_type") || j["addition_embed_type"].is_null()) return std::nullopt;
  const nlohmann::json& type = j["addition_embed_type"];
  GENRT_CHECK(type == "text_time", "{}: addition_embed_type {} is not supported (\"text_time\", SDXL's, or null)",
              where, type.dump());
  UnetTextTimeEmbedding e;
  e.time_ids = time_ids;
  e.time_embed_dim = json_required<int64_t>(j, "addition_time_embed_dim", where);
  e.input_dim = json_required<int64_t>(j, "projection_class_embeddings_input_dim", where);
  GENRT_CHECK(e.time_embed_dim > 0, "{}: addition_time_embed_dim = {} must be positive", where, e.time_embed_dim);
  GENRT_CHECK(e.text_embeds_dim() > 0,
              "{}: projection_class_embeddings_input_dim = {} leaves no room for the pooled text embedding beside the "
              "{} time ids of addition_time_embed_dim {} ({} features)",
              where, e.input_dim, e.time_ids, e.time_embed_dim, e.time_features());
  return e;
}

UnetConfig parse_unet_config(const nlohmann::json& j, const std::string& where, int64_t time_ids) {
  GENRT_CHECK(j.is_object(), "{}: expected a JSON object", where);
  const auto class_name = json_optional<std::string>(j, "_class_name", "UNet2DConditionModel", where);
  GENRT_CHECK(class_name == "UNet2DConditionModel", "{}: _class_name '{}' is not a UNet2DConditionModel", where,
              class_name);
  UnetConfig c;
  c.in_channels = json_optional<int64_t>(j, "in_channels", 4, where);
  c.out_channels = json_optional<int64_t>(j, "out_channels", 4, where);
  c.sample_size = json_optional<int64_t>(j, "sample_size", 64, where);
  c.cross_attention_dim = json_optional<int64_t>(j, "cross_attention_dim", 1280, where);
  c.norm_num_groups = json_optional<int64_t>(j, "norm_num_groups", 32, where);
  c.norm_eps = json_optional<double>(j, "norm_eps", 1e-5, where);
  c.use_linear_projection = json_optional<bool>(j, "use_linear_projection", false, where);
  c.flip_sin_to_cos = json_optional<bool>(j, "flip_sin_to_cos", true, where);
  c.freq_shift = json_optional<double>(j, "freq_shift", 0.0, where);
  c.random_weights = json_optional<bool>(j, "genrt_random_weights", false, where);
  for (const auto& [name, value] : {std::pair{"in_channels", c.in_channels},
                                    {"out_channels", c.out_channels},
                                    {"sample_size", c.sample_size},
                                    {"cross_attention_dim", c.cross_attention_dim},
                                    {"norm_num_groups", c.norm_num_groups}}) {
    GENRT_CHECK(value > 0, "{}: {} = {} must be positive", where, name, value);
  }

  GENRT_CHECK(j.contains("block_out_channels") && j["block_out_channels"].is_array() &&
                  !j["block_out_channels"].empty(),
              "{}: block_out_channels must be a non-empty list", where);
  const size_t n = j["block_out_channels"].size();
  const std::vector<int64_t> channels = per_block(j, "block_out_channels", 0, n, where);
  const std::vector<int64_t> layers = per_block(j, "layers_per_block", 2, n, where);
  // diffusers reads attention_head_dim as the number of heads when num_attention_heads is
  // unset: a naming quirk that SD 1.5's and 2.1's configs rely on.
  const bool heads_given = j.contains("num_attention_heads") && !j["num_attention_heads"].is_null();
  const std::vector<int64_t> heads =
      per_block(j, heads_given ? "num_attention_heads" : "attention_head_dim", 8, n, where);
  // SDXL's configs give one count per block (the up blocks take them mirrored, the mid block
  // the last); diffusers' per-layer form (a list of lists, with
  // reverse_transformer_layers_per_block for the up blocks) is refused by name.
  if (j.contains("transformer_layers_per_block") && j["transformer_layers_per_block"].is_array()) {
    for (const auto& v : j["transformer_layers_per_block"]) {
      GENRT_CHECK(!v.is_array(),
                  "{}: transformer_layers_per_block {} gives a depth per layer (a list of lists): not supported (one "
                  "number per block)",
                  where, j["transformer_layers_per_block"].dump());
    }
  }
  const std::vector<int64_t> transformer_layers = per_block(j, "transformer_layers_per_block", 1, n, where);
  const std::vector<std::string> down = block_types(j, "down_block_types", where);
  const std::vector<std::string> up = block_types(j, "up_block_types", where);
  GENRT_CHECK(down.size() == n && up.size() == n, "{}: {} down and {} up block types for {} block_out_channels",
              where, down.size(), up.size(), n);
  for (size_t i = 0; i < n; ++i) {
    GENRT_CHECK(down[i] == "CrossAttnDownBlock2D" || down[i] == "DownBlock2D",
                "{}: down block type '{}' is not supported (CrossAttnDownBlock2D, DownBlock2D)", where, down[i]);
    const std::string& up_type = up[n - 1 - i];
    GENRT_CHECK(up_type == "CrossAttnUpBlock2D" || up_type == "UpBlock2D",
                "{}: up block type '{}' is not supported (CrossAttnUpBlock2D, UpBlock2D)", where, up_type);
    GENRT_CHECK(channels[i] % c.norm_num_groups == 0,
                "{}: block_out_channels {} is not a multiple of norm_num_groups {}", where, channels[i],
                c.norm_num_groups);
    GENRT_CHECK(channels[i] % heads[i] == 0, "{}: block {}'s {} channels do not split into {} attention heads",
                where, i, channels[i], heads[i]);
    c.levels.push_back({.channels = channels[i],
                        .layers = layers[i],
                        .down_attention = down[i] == "CrossAttnDownBlock2D",
                        .up_attention = up_type == "CrossAttnUpBlock2D",
                        .heads = heads[i],
                        .transformer_layers = transformer_layers[i]});
  }
  const auto mid = json_optional<std::string>(j, "mid_block_type", "UNetMidBlock2DCrossAttn", where);
  GENRT_CHECK(mid == "UNetMidBlock2DCrossAttn", "{}: mid_block_type '{}' is not supported (UNetMidBlock2DCrossAttn)",
              where, mid);

  c.text_time = parse_text_time(j, where, time_ids);
  expect_unset(j, "num_class_embeds", where, "class embeddings");
  expect_unset(j, "encoder_hid_dim_type", where, "a projection of the text states");
  expect_unset(j, "time_embedding_act_fn", where, "an activation after the time embedding");
  expect_unset(j, "class_embed_type", where, "class embeddings");
  expect_unset(j, "encoder_hid_dim", where, "a projection of the text states");
  expect_unset(j, "dual_cross_attention", where, "dual cross-attention");
  expect_unset(j, "only_cross_attention", where, "blocks without self-attention");
  expect_unset(j, "center_input_sample", where, "centred input samples");
  expect_unset(j, "time_cond_proj_dim", where, "a timestep condition projection");
  expect_unset(j, "timestep_post_act", where, "an activation after the timestep MLP");
  expect_unset(j, "time_embedding_dim", where, "a time embedding width other than 4 block_out_channels[0]");
  expect_unset(j, "resnet_skip_time_act", where, "ResNet blocks without the time embedding's SiLU");
  expect_unset(j, "cross_attention_norm", where, "a norm of the text states");
  expect_unset(j, "class_embeddings_concat", where, "concatenated class embeddings");
  expect_unset(j, "mid_block_only_cross_attention", where, "a mid block without self-attention");
  expect_unset(j, "reverse_transformer_layers_per_block", where, "per-layer transformer depths in the up blocks");
  // upcast_attention (SD 2.1) asks for fp32 attention scores: genrt's attention always
  // accumulates scores and softmax in fp32, so the setting needs nothing more.
  const auto act = json_optional<std::string>(j, "act_fn", "silu", where);
  GENRT_CHECK(act == "silu", "{}: act_fn '{}' is not supported (silu)", where, act);
  const auto shift = json_optional<std::string>(j, "resnet_time_scale_shift", "default", where);
  GENRT_CHECK(shift == "default", "{}: resnet_time_scale_shift '{}' is not supported (default)", where, shift);
  const auto time_embedding = json_optional<std::string>(j, "time_embedding_type", "positional", where);
  GENRT_CHECK(time_embedding == "positional", "{}: time_embedding_type '{}' is not supported (positional)", where,
              time_embedding);
  const auto attention_type = json_optional<std::string>(j, "attention_type", "default", where);
  GENRT_CHECK(attention_type == "default", "{}: attention_type '{}' is not supported (default)", where,
              attention_type);
  for (const char* kernel : {"conv_in_kernel", "conv_out_kernel"}) {
    GENRT_CHECK(json_optional<int64_t>(j, kernel, 3, where) == 3, "{}: {} other than 3 is not supported", where,
                kernel);
  }
  GENRT_CHECK(json_optional<double>(j, "resnet_out_scale_factor", 1.0, where) == 1.0,
              "{}: resnet_out_scale_factor other than 1 is not supported", where);
  GENRT_CHECK(json_optional<int64_t>(j, "downsample_padding", 1, where) == 1,
              "{}: downsample_padding other than 1 is not supported", where);
  GENRT_CHECK(json_optional<double>(j, "mid_block_scale_factor", 1.0, where) == 1.0,
              "{}: mid_block_scale_factor other than 1 is not supported", where);
  return c;
}

}  // namespace

UnetConfig unet_config_from_json(const nlohmann::json& config, const std::string& where, int64_t time_ids) {
  return parse_config_json(config, where, [time_ids](const nlohmann::json& j, const std::string& w) {
    return parse_unet_config(j, w, time_ids);
  });
}

}  // namespace genrt
