#include "runtime/models/llama/llama_config.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "runtime/core/error.h"
#include "runtime/io/json_file.h"

namespace genrt {

void LlamaConfig::validate(const std::string& where) const {
  const std::pair<const char*, int64_t> positive[] = {
      {"hidden_size", hidden_size},
      {"intermediate_size", intermediate_size},
      {"num_hidden_layers", num_hidden_layers},
      {"num_attention_heads", num_attention_heads},
      {"num_key_value_heads", num_key_value_heads},
      {"head_dim", head_dim},
      {"vocab_size", vocab_size},
      {"max_position_embeddings", max_position_embeddings}};
  for (const auto& [name, value] : positive) {
    GENRT_CHECK(value > 0, "{}: {} = {} must be positive", where, name, value);
  }
  GENRT_CHECK(num_attention_heads % num_key_value_heads == 0,
              "{}: num_key_value_heads {} does not divide num_attention_heads {}", where,
              num_key_value_heads, num_attention_heads);
  GENRT_CHECK(head_dim % 2 == 0, "{}: head_dim {} must be even for rotary embeddings", where,
              head_dim);
  GENRT_CHECK(rms_norm_eps > 0, "{}: rms_norm_eps {} must be positive", where, rms_norm_eps);
  GENRT_CHECK(rope_theta > 0, "{}: rope_theta {} must be positive", where, rope_theta);
  GENRT_CHECK(vocab_size <= std::numeric_limits<int32_t>::max(), "{}: vocab_size {} is too large",
              where, vocab_size);
  GENRT_CHECK(layer_windows.empty() || static_cast<int64_t>(layer_windows.size()) == num_hidden_layers,
              "{}: {} layer windows for {} layers", where, layer_windows.size(), num_hidden_layers);
  for (int64_t window : layer_windows) {
    GENRT_CHECK(window >= 0, "{}: sliding window {} must be >= 0 (0: full attention)", where, window);
  }
}

int64_t LlamaConfig::parameter_count() const {
  const int64_t attention = hidden_size * (q_dim() + 2 * kv_dim()) + q_dim() * hidden_size +
                            (qkv_bias ? q_dim() + 2 * kv_dim() : 0) + (o_bias ? hidden_size : 0);
  const int64_t mlp = 3 * hidden_size * intermediate_size;
  const int64_t per_layer = attention + mlp + 2 * hidden_size;
  const int64_t embeddings = vocab_size * hidden_size * (tie_word_embeddings ? 1 : 2);
  return num_hidden_layers * per_layer + embeddings + hidden_size;
}

namespace {

// How far back any layer attends: the largest window when every layer has one, else 0.
int64_t attention_window(const std::vector<int64_t>& layer_windows) {
  if (layer_windows.empty() || std::ranges::find(layer_windows, 0) != layer_windows.end()) return 0;
  return std::ranges::max(layer_windows);
}

}  // namespace

ModelSpec LlamaConfig::spec() const {
  return {.architecture = architecture,
          .vocab_size = vocab_size,
          .context_length = max_position_embeddings,
          .hidden_size = hidden_size,
          .num_layers = num_hidden_layers,
          .num_kv_heads = num_key_value_heads,
          .head_dim = head_dim,
          .parameter_count = parameter_count(),
          .bos_token_id = bos_token_id,
          .eos_token_ids = eos_token_ids,
          .random_weights = random_weights,
          .attention_window = attention_window(layer_windows)};
}

namespace {

// The rope scaling object: transformers 4 writes it as `rope_scaling` (kind in "type" or
// "rope_type"), transformers 5 folds it into `rope_parameters` with rope_theta.
RopeScaling parse_rope_scaling(const nlohmann::json& params, const std::string& at) {
  RopeScaling scaling;
  GENRT_CHECK(params.is_object(), "{} must be an object or null", at);
  scaling.type = json_optional<std::string>(params, "rope_type", "", at);
  if (scaling.type.empty()) scaling.type = json_optional<std::string>(params, "type", "default", at);
  if (scaling.type == "default") {
    scaling.type = "none";
    return scaling;
  }
  GENRT_CHECK(scaling.type == "linear" || scaling.type == "llama3",
              "{}: rope type '{}' is not supported (genrt supports default, linear and llama3)", at,
              scaling.type);
  scaling.factor = json_required<double>(params, "factor", at);
  GENRT_CHECK(scaling.factor >= 1.0, "{}: factor {} must be >= 1", at, scaling.factor);
  if (scaling.type == "llama3") {
    scaling.low_freq_factor = json_required<double>(params, "low_freq_factor", at);
    scaling.high_freq_factor = json_required<double>(params, "high_freq_factor", at);
    scaling.original_max_position_embeddings =
        json_required<int64_t>(params, "original_max_position_embeddings", at);
    GENRT_CHECK(scaling.high_freq_factor > scaling.low_freq_factor,
                "{}: high_freq_factor must exceed low_freq_factor", at);
  }
  return scaling;
}

void parse_rope(const nlohmann::json& config, const std::string& where, LlamaConfig& c) {
  const auto params = config.find("rope_parameters");
  if (params != config.end() && !params->is_null()) {
    const std::string at = where + ": rope_parameters";
    c.rope_scaling = parse_rope_scaling(*params, at);
    c.rope_theta = json_required<double>(*params, "rope_theta", at);
    return;
  }
  c.rope_theta = json_optional<double>(config, "rope_theta", 10000.0, where);
  const auto scaling = config.find("rope_scaling");
  if (scaling != config.end() && !scaling->is_null()) {
    c.rope_scaling = parse_rope_scaling(*scaling, where + ": rope_scaling");
  }
}

std::vector<int32_t> parse_token_ids(const nlohmann::json& config, const char* field,
                                     const std::string& where) {
  const auto it = config.find(field);
  if (it == config.end() || it->is_null()) return {};
  std::vector<int32_t> ids;
  const nlohmann::json list = it->is_array() ? *it : nlohmann::json::array({*it});
  for (const auto& id : list) {
    GENRT_CHECK(id.is_number_integer() && id.get<int64_t>() >= 0 &&
                    id.get<int64_t>() <= std::numeric_limits<int32_t>::max(),
                "{}: {} must be a token id or a list of them, got {}", where, field, it->dump());
    ids.push_back(id.get<int32_t>());
  }
  return ids;
}

// The window of the sliding-window layers as transformers reads it: a missing field takes
// the config class's default (4096 in MistralConfig and Qwen2Config), null means none (0).
int64_t parse_sliding_window(const nlohmann::json& config, const std::string& where) {
  const auto it = config.find("sliding_window");
  if (it == config.end()) return 4096;
  if (it->is_null()) return 0;
  const auto window = json_required<int64_t>(config, "sliding_window", where);
  GENRT_CHECK(window > 0, "{}: sliding_window = {} must be positive (null: no window)", where, window);
  return window;
}

// Each layer's window, as transformers assigns them: MistralForCausalLM windows every layer
// (it ignores layer_types); Qwen2ForCausalLM only with use_sliding_window, the layers that
// layer_types marks "sliding_attention" or, without layer_types, those from
// max_window_layers on. Llama has no window.
std::vector<int64_t> parse_layer_windows(const nlohmann::json& config, const std::string& where,
                                         const LlamaConfig& c) {
  const auto n = static_cast<size_t>(c.num_hidden_layers);
  if (c.architecture == "MistralForCausalLM") return std::vector<int64_t>(n, parse_sliding_window(config, where));
  std::vector<int64_t> windows(n, 0);
  if (c.architecture != "Qwen2ForCausalLM" || !json_optional<bool>(config, "use_sliding_window", false, where)) {
    return windows;
  }
  const int64_t window = parse_sliding_window(config, where);
  const auto types = config.find("layer_types");
  if (types == config.end() || types->is_null()) {
    const int64_t first = json_optional<int64_t>(config, "max_window_layers", 28, where);
    for (size_t l = static_cast<size_t>(std::clamp<int64_t>(first, 0, c.num_hidden_layers)); l < n; ++l) {
      windows[l] = window;
    }
    return windows;
  }
  GENRT_CHECK(types->is_array() && types->size() == n, "{}: layer_types must list the type of each of the {} layers",
              where, n);
  for (size_t l = 0; l < n; ++l) {
    const nlohmann::json& type = (*types)[l];
    GENRT_CHECK(type == "sliding_attention" || type == "full_attention",
                "{}: layer_types[{}] = {} is not supported (genrt supports sliding_attention and full_attention)",
                where, l, type.dump());
    if (type == "sliding_attention") windows[l] = window;
  }
  return windows;
}

}  // namespace

namespace {
LlamaConfig parse_llama_config(const nlohmann::json& config, const std::string& where);
}

LlamaConfig llama_config_from_hf(const nlohmann::json& config, const std::string& where) {
  return parse_config_json(config, where, parse_llama_config);
}

namespace {
LlamaConfig parse_llama_config(const nlohmann::json& config, const std::string& where) {
  GENRT_CHECK(config.is_object(), "{}: expected a JSON object", where);
  LlamaConfig c;
  const auto archs = config.find("architectures");
  if (archs != config.end() && archs->is_array() && !archs->empty() && (*archs)[0].is_string()) {
    c.architecture = (*archs)[0].get<std::string>();
  } else {
    const std::string model_type = json_required<std::string>(config, "model_type", where);
    c.architecture = model_type == "qwen2"     ? "Qwen2ForCausalLM"
                     : model_type == "mistral" ? "MistralForCausalLM"
                     : model_type == "llama"   ? "LlamaForCausalLM"
                                               : model_type;
  }
  const bool is_qwen2 = c.architecture == "Qwen2ForCausalLM";
  GENRT_CHECK(c.architecture == "LlamaForCausalLM" || c.architecture == "MistralForCausalLM" || is_qwen2,
              "{}: architecture '{}' is not supported (genrt runs LlamaForCausalLM, "
              "MistralForCausalLM and Qwen2ForCausalLM)",
              where, c.architecture);

  c.hidden_size = json_required<int64_t>(config, "hidden_size", where);
  c.intermediate_size = json_required<int64_t>(config, "intermediate_size", where);
  c.num_hidden_layers = json_required<int64_t>(config, "num_hidden_layers", where);
  c.num_attention_heads = json_required<int64_t>(config, "num_attention_heads", where);
  c.num_key_value_heads =
      json_optional<int64_t>(config, "num_key_value_heads", c.num_attention_heads, where);
  c.vocab_size = json_required<int64_t>(config, "vocab_size", where);
  c.max_position_embeddings = json_required<int64_t>(config, "max_position_embeddings", where);
  GENRT_CHECK(c.num_attention_heads > 0, "{}: num_attention_heads must be positive", where);
  const auto head_dim = config.find("head_dim");
  if (head_dim != config.end() && !head_dim->is_null()) {
    c.head_dim = json_required<int64_t>(config, "head_dim", where);
  } else {
    GENRT_CHECK(c.hidden_size % c.num_attention_heads == 0,
                "{}: hidden_size {} is not divisible by num_attention_heads {}", where,
                c.hidden_size, c.num_attention_heads);
    c.head_dim = c.hidden_size / c.num_attention_heads;
  }
  c.rms_norm_eps = json_optional<double>(config, "rms_norm_eps", 1e-6, where);
  parse_rope(config, where, c);
  c.tie_word_embeddings = json_optional<bool>(config, "tie_word_embeddings", false, where);
  if (is_qwen2) {
    c.qkv_bias = true;  // Qwen2 always has q/k/v biases and no o bias
  } else {
    c.qkv_bias = c.o_bias = json_optional<bool>(config, "attention_bias", false, where);
  }
  GENRT_CHECK(!json_optional<bool>(config, "mlp_bias", false, where),
              "{}: mlp_bias = true is not supported", where);
  const std::string act = json_optional<std::string>(config, "hidden_act", "silu", where);
  GENRT_CHECK(act == "silu", "{}: hidden_act '{}' is not supported (Llama models use silu)", where,
              act);

  const auto bos = parse_token_ids(config, "bos_token_id", where);
  if (!bos.empty()) c.bos_token_id = bos.front();
  c.eos_token_ids = parse_token_ids(config, "eos_token_id", where);
  c.random_weights = json_optional<bool>(config, "genrt_random_weights", false, where);
  c.validate(where);
  c.layer_windows = parse_layer_windows(config, where, c);
  return c;
}
}  // namespace

nlohmann::json llama_config_to_hf(const LlamaConfig& c) {
  nlohmann::json j = {
      {"architectures", {c.architecture}},
      {"model_type", "llama"},
      {"hidden_size", c.hidden_size},
      {"intermediate_size", c.intermediate_size},
      {"num_hidden_layers", c.num_hidden_layers},
      {"num_attention_heads", c.num_attention_heads},
      {"num_key_value_heads", c.num_key_value_heads},
      {"head_dim", c.head_dim},
      {"vocab_size", c.vocab_size},
      {"max_position_embeddings", c.max_position_embeddings},
      {"rms_norm_eps", c.rms_norm_eps},
      {"rope_theta", c.rope_theta},
      {"hidden_act", "silu"},
      {"attention_bias", c.qkv_bias},
      {"tie_word_embeddings", c.tie_word_embeddings},
      {"torch_dtype", "bfloat16"},
  };
  if (c.bos_token_id) j["bos_token_id"] = *c.bos_token_id;
  if (c.eos_token_ids.size() == 1) j["eos_token_id"] = c.eos_token_ids.front();
  if (c.eos_token_ids.size() > 1) j["eos_token_id"] = c.eos_token_ids;
  if (c.random_weights) j["genrt_random_weights"] = true;
  return j;
}

}  // namespace genrt
