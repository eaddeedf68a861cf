#pragma once
// The shape of a GPT-2 (GPT2LMHeadModel): pre-norm LayerNorm blocks, learned absolute
// positions, multi-head attention, a tanh-GELU MLP, and an LM head tied to the
// token embedding.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "kernels/ref/activations.h"
#include "runtime/models/causal_lm.h"

namespace genrt {

struct Gpt2Config {
  int64_t vocab_size = 0;
  int64_t n_positions = 0;
  int64_t n_embd = 0;
  int64_t n_layer = 0;
  int64_t n_head = 0;
  int64_t n_inner = 0;  // MLP width; 4 * n_embd when config.json says null
  double layer_norm_epsilon = 1e-5;
  ref::Activation gelu = ref::Activation::gelu_tanh;
  std::optional<int32_t> bos_token_id;
  std::vector<int32_t> eos_token_ids;
  bool random_weights = false;

  int64_t head_dim() const { return n_embd / n_head; }
  int64_t parameter_count() const;
  ModelSpec spec() const;
};

// Parses a Hugging Face config.json of a GPT2LMHeadModel; errors name `where` and the field.
Gpt2Config gpt2_config_from_hf(const nlohmann::json& config, const std::string& where);

}  // namespace genrt
