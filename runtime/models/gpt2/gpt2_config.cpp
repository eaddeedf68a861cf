#include "runtime/models/gpt2/gpt2_config.h"

#include <nlohmann/json.hpp>

#include "runtime/core/error.h"
#include "runtime/io/json_file.h"

namespace genrt {

int64_t Gpt2Config::parameter_count() const {
  const int64_t per_layer = 4 * n_embd            // ln_1, ln_2 weight and bias
                            + n_embd * 3 * n_embd + 3 * n_embd  // c_attn
                            + n_embd * n_embd + n_embd          // attn.c_proj
                            + n_embd * n_inner + n_inner        // mlp.c_fc
                            + n_inner * n_embd + n_embd;        // mlp.c_proj
  return vocab_size * n_embd + n_positions * n_embd + n_layer * per_layer + 2 * n_embd;
}

ModelSpec Gpt2Config::spec() const {
  return {.architecture = "GPT2LMHeadModel",
          .vocab_size = vocab_size,
          .context_length = n_positions,
          .hidden_size = n_embd,
          .num_layers = n_layer,
          .num_kv_heads = n_head,
          .head_dim = head_dim(),
          .parameter_count = parameter_count(),
          .bos_token_id = bos_token_id,
          .eos_token_ids = eos_token_ids,
          .random_weights = random_weights};
}

namespace {
Gpt2Config parse_gpt2_config(const nlohmann::json& config, const std::string& where) {
  GENRT_CHECK(config.is_object(), "{}: expected a JSON object", where);
  Gpt2Config c;
  c.vocab_size = json_required<int64_t>(config, "vocab_size", where);
  c.n_positions = json_required<int64_t>(config, "n_positions", where);
  c.n_embd = json_required<int64_t>(config, "n_embd", where);
  c.n_layer = json_required<int64_t>(config, "n_layer", where);
  c.n_head = json_required<int64_t>(config, "n_head", where);
  c.n_inner = json_optional<int64_t>(config, "n_inner", 4 * c.n_embd, where);
  c.layer_norm_epsilon = json_optional<double>(config, "layer_norm_epsilon", 1e-5, where);
  const std::pair<const char*, int64_t> positive[] = {{"vocab_size", c.vocab_size}, {"n_positions", c.n_positions},
                                                      {"n_embd", c.n_embd},         {"n_layer", c.n_layer},
                                                      {"n_head", c.n_head},         {"n_inner", c.n_inner}};
  for (const auto& [name, value] : positive) {
    GENRT_CHECK(value > 0, "{}: {} = {} must be positive", where, name, value);
  }
  GENRT_CHECK(c.n_embd % c.n_head == 0, "{}: n_embd {} is not divisible by n_head {}", where, c.n_embd, c.n_head);
  const std::string act = json_optional<std::string>(config, "activation_function", "gelu_new", where);
  if (act == "gelu_new" || act == "gelu_pytorch_tanh" || act == "gelu_fast") {
    c.gelu = ref::Activation::gelu_tanh;
  } else if (act == "gelu") {
    c.gelu = ref::Activation::gelu_erf;
  } else {
    fail("{}: activation_function '{}' is not supported (gelu_new, gelu_pytorch_tanh or gelu)", where, act);
  }
  GENRT_CHECK(json_optional<bool>(config, "scale_attn_weights", true, where),
              "{}: scale_attn_weights = false is not supported", where);
  GENRT_CHECK(!json_optional<bool>(config, "scale_attn_by_inverse_layer_idx", false, where),
              "{}: scale_attn_by_inverse_layer_idx is not supported", where);
  GENRT_CHECK(json_optional<bool>(config, "tie_word_embeddings", true, where),
              "{}: GPT-2 with an untied lm_head is not supported", where);
  if (config.contains("bos_token_id")) c.bos_token_id = static_cast<int32_t>(json_optional<int64_t>(config, "bos_token_id", 0, where));
  if (config.contains("eos_token_id")) c.eos_token_ids = {static_cast<int32_t>(json_optional<int64_t>(config, "eos_token_id", 0, where))};
  c.random_weights = json_optional<bool>(config, "genrt_random_weights", false, where);
  return c;
}
}  // namespace

Gpt2Config gpt2_config_from_hf(const nlohmann::json& config, const std::string& where) {
  return parse_config_json(config, where, parse_gpt2_config);
}

}  // namespace genrt
