#pragma once
// The shape and numerics of a Llama-family decoder (Llama 1-3, Mistral, Qwen2, TinyLlama,
// llama2.c checkpoints): pre-norm RMSNorm blocks, rotary GQA attention, SwiGLU MLP.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "kernels/ref/rope.h"
#include "runtime/models/causal_lm.h"

namespace genrt {

// rope_scaling from config.json. "llama3" rescales the frequencies of Llama 3.1+ models;
// "linear" divides positions by `factor`.
struct RopeScaling {
  std::string type = "none";  // none, linear, llama3
  double factor = 1.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  int64_t original_max_position_embeddings = 8192;
};

struct LlamaConfig {
  std::string architecture;  // LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, llama2.c
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;
  int64_t head_dim = 0;
  int64_t vocab_size = 0;
  int64_t max_position_embeddings = 0;
  double rms_norm_eps = 1e-5;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  ref::RopeLayout rope_layout = ref::RopeLayout::rotate_half;
  bool qkv_bias = false;  // Qwen2, or Llama with attention_bias
  bool o_bias = false;    // Llama with attention_bias
  bool tie_word_embeddings = false;
  std::optional<int32_t> bos_token_id;
  std::vector<int32_t> eos_token_ids;  // generation stops at any of these
  bool random_weights = false;         // written by `genrt init-model`: output is gibberish
  // [num_hidden_layers] each layer's sliding window (ops::paged_attention), 0 for full
  // attention; empty: no layer has one.
  std::vector<int64_t> layer_windows;

  // Checks that the dimensions are positive and consistent; errors name `where`.
  void validate(const std::string& where) const;
  int64_t q_dim() const { return num_attention_heads * head_dim; }
  int64_t kv_dim() const { return num_key_value_heads * head_dim; }
  int64_t layer_window(int64_t layer) const { return layer_windows.empty() ? 0 : layer_windows[layer]; }
  int64_t parameter_count() const;
  ModelSpec spec() const;
};

// Parses a Hugging Face config.json of a LlamaForCausalLM, MistralForCausalLM or
// Qwen2ForCausalLM; errors name the file (`where`) and the field.
LlamaConfig llama_config_from_hf(const nlohmann::json& config, const std::string& where);
// The HF config.json that describes `config` (used by init-model).
nlohmann::json llama_config_to_hf(const LlamaConfig& config);

}  // namespace genrt
