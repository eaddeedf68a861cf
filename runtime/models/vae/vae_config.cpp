#include "runtime/models/vae/vae_config.h"

#include <cmath>
#include <limits>
#include <string_view>

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

// A field that is absent or null: diffusers' None.
bool given(const nlohmann::json& j, const char* field) { return j.contains(field) && !j[field].is_null(); }

// Whether v is a finite f32 (rounding aside), and a normal one for `normal`: checked in
// double, since converting a double outside float's range is undefined.
bool fits_f32(double v, bool normal) {
  const double magnitude = std::abs(v);
  return std::isfinite(v) && magnitude <= std::numeric_limits<float>::max() &&
         (!normal || magnitude >= std::numeric_limits<float>::min());
}

// latents_mean and latents_std: both or neither, one value per latent channel, each a
// finite f32 as the latents are, std positive, and the scales std makes with
// scaling_factor (either way) normal f32s, the encoder's shift mean * scaling_factor / std
// a finite one.
void parse_latent_statistics(const nlohmann::json& j, const std::string& where, VaeConfig& c) {
  const bool has_mean = given(j, "latents_mean"), has_std = given(j, "latents_std");
  GENRT_CHECK(has_mean == has_std, "{}: {} without {}: give both (per-channel statistics of the latents) or neither",
              where, has_mean ? "latents_mean" : "latents_std", has_mean ? "latents_std" : "latents_mean");
  if (!has_mean) return;
  for (const char* field : {"latents_mean", "latents_std"}) {
    const nlohmann::json& values = j[field];
    GENRT_CHECK(values.is_array() && std::ssize(values) == c.latent_channels,
                "{}: {} must list {} numbers, one per latent channel (latent_channels {}), got {}", where, field,
                c.latent_channels, c.latent_channels, values.dump());
    std::vector<double>& to = std::string_view(field) == "latents_mean" ? c.latents_mean : c.latents_std;
    for (size_t i = 0; i < values.size(); ++i) {
      GENRT_CHECK(values[i].is_number(), "{}: {}[{}] is {}, not a number", where, field, i, values[i].dump());
      const double v = values[i].get<double>();
      GENRT_CHECK(fits_f32(v, false), "{}: {}[{}] = {} is not a finite f32", where, field, i, v);
      to.push_back(v);
    }
  }
  for (size_t i = 0; i < c.latents_std.size(); ++i) {
    const double s = c.latents_std[i];
    GENRT_CHECK(s > 0, "{}: latents_std[{}] = {} must be positive", where, i, s);
    GENRT_CHECK(fits_f32(c.scaling_factor / s, true) && fits_f32(s / c.scaling_factor, true),
                "{}: latents_std[{}] = {} with scaling_factor {} makes a scale outside f32's normal range", where, i,
                s, c.scaling_factor);
    GENRT_CHECK(fits_f32(c.latents_mean[i] * c.scaling_factor / s, false),
                "{}: latents_mean[{}] = {} over latents_std[{}] = {} with scaling_factor {} makes a shift outside f32's "
                "range",
                where, i, c.latents_mean[i], i, s, c.scaling_factor);
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
  GENRT_CHECK(!j.contains("shift_factor") || j["shift_factor"].is_null(),
              "{}: shift_factor is not supported (SD3's and Flux's VAEs have one; SD's and SDXL's none)", where);
  parse_latent_statistics(j, where, c);
  return c;
}

}  // namespace

VaeConfig vae_config_from_json(const nlohmann::json& config, const std::string& where) {
  return parse_config_json(config, where, parse_vae_config);
}

}  // namespace genrt
