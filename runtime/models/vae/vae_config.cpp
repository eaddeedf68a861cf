#include "runtime/models/vae/vae_config.h"

#include <nlohmann/json.hpp>

#include "runtime/core/error.h"
#include "runtime/io/json_file.h"

namespace genrt {

namespace {

void expect_blocks(const nlohmann::json& j, const char* field, const char* type, size_t n, const std::string& where) {
  GENRT_CHECK(j.contains(field) && j[field].is_array() && j[field].size() == n,
              "{}: {} must list {} block types, one per block_out_channels", where, field, n);
  for (const auto& t : j[field]) {
    GENRT_CHECK(t == type, "{}: {} holds {}: only {} is supported", where, field, t.dump(), type);
  }
}

VaeConfig parse_vae_config(const nlohmann::json& j, const std::string& where) {
  GENRT_CHECK(j.is_object(), "{}: expected a JSON object", where);
  const auto class_name = json_optional<std::string>(j, "_class_name", "AutoencoderKL", where);
  GENRT_CHECK(class_name == "AutoencoderKL", "{}: _class_name '{}' is not an AutoencoderKL", where, class_name);
  VaeConfig c;
  c.in_channels = json_optional<int64_t>(j, "in_channels", 3, where);
  c.out_channels = json_optional<int64_t>(j, "out_channels", 3, where);
  c.latent_channels = json_optional<int64_t>(j, "latent_channels", 4, where);
  c.layers_per_block = json_optional<int64_t>(j, "layers_per_block", 1, where);
  c.norm_num_groups = json_optional<int64_t>(j, "norm_num_groups", 32, where);
  c.sample_size = json_optional<int64_t>(j, "sample_size", 512, where);
  c.scaling_factor = json_optional<double>(j, "scaling_factor", 0.18215, where);
  c.force_upcast = json_optional<bool>(j, "force_upcast", true, where);
  c.mid_block_attention = json_optional<bool>(j, "mid_block_add_attention", true, where);
  c.use_post_quant_conv = json_optional<bool>(j, "use_post_quant_conv", true, where);
  c.use_quant_conv = json_optional<bool>(j, "use_quant_conv", true, where);
  for (const auto& [name, value] : {std::pair{"in_channels", c.in_channels},
                                    {"out_channels", c.out_channels},
                                    {"latent_channels", c.latent_channels},
                                    {"layers_per_block", c.layers_per_block},
                                    {"norm_num_groups", c.norm_num_groups},
                                    {"sample_size", c.sample_size}}) {
    GENRT_CHECK(value > 0, "{}: {} = {} must be positive", where, name, value);
  }
  GENRT_CHECK(c.scaling_factor > 0, "{}: scaling_factor {} must be positive", where, c.scaling_factor);
  GENRT_CHECK(j.contains("block_out_channels") && j["block_out_channels"].is_array() &&
                  !j["block_out_channels"].empty(),
              "{}: block_out_channels must be a non-empty list", where);
  for (const auto& v : j["block_out_channels"]) {
    GENRT_CHECK(v.is_number_integer() && v.get<int64_t>() > 0 && v.get<int64_t>() % c.norm_num_groups == 0,
                "{}: block_out_channels holds {}, expected positive multiples of norm_num_groups {}", where, v.dump(),
                c.norm_num_groups);
    c.block_out_channels.push_back(v.get<int64_t>());
  }
  const size_t n = c.block_out_channels.size();
  expect_blocks(j, "down_block_types", "DownEncoderBlock2D", n, where);
  expect_blocks(j, "up_block_types", "UpDecoderBlock2D", n, where);
  const auto act = json_optional<std::string>(j, "act_fn", "silu", where);
  GENRT_CHECK(act == "silu", "{}: act_fn '{}' is not supported (silu)", where, act);
  for (const char* field : {"shift_factor", "latents_mean", "latents_std"}) {
    GENRT_CHECK(!j.contains(field) || j[field].is_null(), "{}: {} is not supported (SD 1.x and 2.x VAEs have none)",
                where, field);
  }
  return c;
}

}  // namespace

VaeConfig vae_config_from_json(const nlohmann::json& config, const std::string& where) {
  return parse_config_json(config, where, parse_vae_config);
}

}  // namespace genrt
