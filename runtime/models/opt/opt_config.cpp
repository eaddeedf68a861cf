#include "runtime/models/opt/opt_config.h"

#include <nlohmann/json.hpp>

#include "runtime/core/error.h"
#include "runtime/io/json_file.h"

namespace genrt {

int64_t OptConfig::parameter_count() const {
  const int64_t h = hidden_size;
  const int64_t per_layer = 4 * (h * h + h)                // q, k, v, out_proj
                            + 2 * h * ffn_dim + ffn_dim + h  // fc1, fc2
                            + 2 * 2 * h;                     // self_attn_layer_norm, final_layer_norm
  const int64_t projections = projects() ? 2 * h * word_embed_proj_dim : 0;
  return vocab_size * word_embed_proj_dim + (max_position_embeddings + kPositionOffset) * h +
         num_hidden_layers * per_layer + projections + (has_final_layer_norm() ? 2 * h : 0);
}

ModelSpec OptConfig::spec() const {
  return {.architecture = "OPTForCausalLM",
          .vocab_size = vocab_size,
          .context_length = max_position_embeddings,
          .hidden_size = hidden_size,
          .num_layers = num_hidden_layers,
          .num_kv_heads = num_attention_heads,
          .head_dim = head_dim(),
          .parameter_count = parameter_count(),
          .bos_token_id = bos_token_id,
          .eos_token_ids = eos_token_ids,
          .projected_hidden_size = projects() ? word_embed_proj_dim : 0};
}

namespace {

OptConfig parse_opt_config(const nlohmann::json& config, const std::string& where) {
  GENRT_CHECK(config.is_object(), "{}: expected a JSON object", where);
  OptConfig c;
  c.vocab_size = json_required<int64_t>(config, "vocab_size", where);
  c.hidden_size = json_required<int64_t>(config, "hidden_size", where);
  c.num_hidden_layers = json_required<int64_t>(config, "num_hidden_layers", where);
  c.num_attention_heads = json_required<int64_t>(config, "num_attention_heads", where);
  c.ffn_dim = json_required<int64_t>(config, "ffn_dim", where);
  c.max_position_embeddings = json_required<int64_t>(config, "max_position_embeddings", where);
  c.word_embed_proj_dim = json_optional<int64_t>(config, "word_embed_proj_dim", c.hidden_size, where);
  c.do_layer_norm_before = json_optional<bool>(config, "do_layer_norm_before", true, where);
  c.remove_final_layer_norm = json_optional<bool>(config, "_remove_final_layer_norm", false, where);
  const std::pair<const char*, int64_t> positive[] = {
      {"vocab_size", c.vocab_size},           {"hidden_size", c.hidden_size},
      {"num_hidden_layers", c.num_hidden_layers}, {"num_attention_heads", c.num_attention_heads},
      {"ffn_dim", c.ffn_dim},                 {"max_position_embeddings", c.max_position_embeddings},
      {"word_embed_proj_dim", c.word_embed_proj_dim}};
  for (const auto& [name, value] : positive) {
    GENRT_CHECK(value > 0, "{}: {} = {} must be positive", where, name, value);
  }
  GENRT_CHECK(c.hidden_size % c.num_attention_heads == 0,
              "{}: hidden_size {} is not divisible by num_attention_heads {}", where, c.hidden_size,
              c.num_attention_heads);
  const std::string act = json_optional<std::string>(config, "activation_function", "relu", where);
  GENRT_CHECK(act == "relu", "{}: activation_function '{}' is not supported (OPT uses relu)", where, act);
  GENRT_CHECK(json_optional<bool>(config, "enable_bias", true, where), "{}: enable_bias = false is not supported",
              where);
  GENRT_CHECK(json_optional<bool>(config, "layer_norm_elementwise_affine", true, where),
              "{}: layer_norm_elementwise_affine = false is not supported", where);
  GENRT_CHECK(json_optional<bool>(config, "tie_word_embeddings", true, where),
              "{}: OPT with an untied lm_head is not supported", where);
  if (config.contains("bos_token_id")) {
    c.bos_token_id = static_cast<int32_t>(json_optional<int64_t>(config, "bos_token_id", 0, where));
  }
  if (config.contains("eos_token_id")) {
    c.eos_token_ids = {static_cast<int32_t>(json_optional<int64_t>(config, "eos_token_id", 0, where))};
  }
  return c;
}

}  // namespace

OptConfig opt_config_from_hf(const nlohmann::json& config, const std::string& where) {
  return parse_config_json(config, where, parse_opt_config);
}

}  // namespace genrt
