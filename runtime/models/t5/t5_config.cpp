#include "runtime/models/t5/t5_config.h"

#include <nlohmann/json.hpp>

#include "runtime/core/error.h"
#include "runtime/io/json_file.h"

namespace genrt {

int64_t T5Config::parameter_count() const {
  const int64_t attention = 4 * d_model * inner_dim();
  const int64_t ff = (gated ? 3 : 2) * d_model * d_ff;
  const int64_t bias_tables = 2 * relative_attention_num_buckets * num_heads;
  return vocab_size * d_model * (tie_word_embeddings ? 1 : 2) + num_layers * (attention + ff + 2 * d_model) +
         num_decoder_layers * (2 * attention + ff + 3 * d_model) + 2 * d_model + bias_tables;
}

ModelSpec T5Config::spec() const {
  return {.architecture = "T5ForConditionalGeneration",
          .vocab_size = vocab_size,
          .context_length = 2 * n_positions,
          .hidden_size = d_model,
          .num_layers = 2 * num_decoder_layers,
          .num_kv_heads = num_heads,
          .head_dim = d_kv,
          .parameter_count = parameter_count(),
          .bos_token_id = {},
          .eos_token_ids = {eos_token_id},
          .decoder_start_token_id = decoder_start_token_id};
}

namespace {

T5Config parse_t5_config(const nlohmann::json& config, const std::string& where) {
  GENRT_CHECK(config.is_object(), "{}: expected a JSON object", where);
  T5Config c;
  c.vocab_size = json_required<int64_t>(config, "vocab_size", where);
  c.d_model = json_required<int64_t>(config, "d_model", where);
  c.d_kv = json_required<int64_t>(config, "d_kv", where);
  c.d_ff = json_required<int64_t>(config, "d_ff", where);
  c.num_layers = json_required<int64_t>(config, "num_layers", where);
  c.num_decoder_layers = json_optional<int64_t>(config, "num_decoder_layers", c.num_layers, where);
  c.num_heads = json_required<int64_t>(config, "num_heads", where);
  c.relative_attention_num_buckets = json_optional<int64_t>(config, "relative_attention_num_buckets", 32, where);
  c.relative_attention_max_distance = json_optional<int64_t>(config, "relative_attention_max_distance", 128, where);
  c.layer_norm_epsilon = json_optional<double>(config, "layer_norm_epsilon", 1e-6, where);
  c.tie_word_embeddings = json_optional<bool>(config, "tie_word_embeddings", true, where);
  c.n_positions = json_optional<int64_t>(config, "n_positions", 512, where);
  // Token ids checked as read, before they are narrowed.
  const auto token_id = [&](const char* name, int64_t fallback) {
    const auto id = json_optional<int64_t>(config, name, fallback, where);
    GENRT_CHECK(id >= 0 && id < c.vocab_size, "{}: {} = {} is outside the vocabulary [0, {})", where, name, id, c.vocab_size);
    return static_cast<int32_t>(id);
  };
  c.pad_token_id = token_id("pad_token_id", 0);
  c.eos_token_id = token_id("eos_token_id", 1);
  c.decoder_start_token_id = token_id("decoder_start_token_id", c.pad_token_id);
  const std::pair<const char*, int64_t> positive[] = {
      {"vocab_size", c.vocab_size}, {"d_model", c.d_model},       {"d_kv", c.d_kv},
      {"d_ff", c.d_ff},             {"num_layers", c.num_layers}, {"num_decoder_layers", c.num_decoder_layers},
      {"num_heads", c.num_heads},   {"n_positions", c.n_positions}};
  for (const auto& [name, value] : positive) {
    GENRT_CHECK(value > 0, "{}: {} = {} must be positive", where, name, value);
  }
  // Transformers' bucket formula divides by log(max_distance / exact buckets): fewer than 4
  // buckets leave the encoder none exact, and a distance within the exact ones no log scale.
  GENRT_CHECK(c.relative_attention_num_buckets >= 4,
              "{}: relative_attention_num_buckets = {} must be at least 4 (half for each direction in the encoder, "
              "half of those exact)",
              where, c.relative_attention_num_buckets);
  GENRT_CHECK(c.relative_attention_max_distance > c.relative_attention_num_buckets / 2,
              "{}: relative_attention_max_distance = {} must be over half relative_attention_num_buckets ({})", where,
              c.relative_attention_max_distance, c.relative_attention_num_buckets);
  GENRT_CHECK(c.layer_norm_epsilon > 0, "{}: layer_norm_epsilon must be positive", where);
  const std::string proj = json_optional<std::string>(config, "feed_forward_proj", "relu", where);
  GENRT_CHECK(proj == "relu" || proj == "gated-gelu",
              "{}: feed_forward_proj '{}' is not supported (T5 uses relu, v1.1 and FLAN gated-gelu)", where, proj);
  c.gated = proj == "gated-gelu";
  return c;
}

}  // namespace

T5Config t5_config_from_hf(const nlohmann::json& config, const std::string& where) {
  return parse_config_json(config, where, parse_t5_config);
}

}  // namespace genrt
