#pragma once
// The shape of an OPT (OPTForCausalLM): learned absolute positions offset by 2, LayerNorm
// before each block (or after it, as in opt-350m), multi-head attention, a ReLU MLP, an
// optional projection between a narrower word embedding and the hidden size, and an LM
// head tied to the token embedding.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "runtime/models/causal_lm.h"

namespace genrt {

struct OptConfig {
  // OPT's position table has this many rows before position 0 (fairseq's padding offset):
  // position p reads row p + 2 of embed_positions.
  static constexpr int64_t kPositionOffset = 2;

  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t ffn_dim = 0;
  int64_t max_position_embeddings = 0;
  int64_t word_embed_proj_dim = 0;  // the token embedding's width; hidden_size when absent
  bool do_layer_norm_before = true;
  bool remove_final_layer_norm = false;  // config.json's _remove_final_layer_norm
  std::optional<int32_t> bos_token_id;
  std::vector<int32_t> eos_token_ids;

  int64_t head_dim() const { return hidden_size / num_attention_heads; }
  // project_in / project_out exist when the word embedding is narrower or wider.
  bool projects() const { return word_embed_proj_dim != hidden_size; }
  // The decoder ends with final_layer_norm only when its blocks norm before.
  bool has_final_layer_norm() const { return do_layer_norm_before && !remove_final_layer_norm; }
  int64_t parameter_count() const;
  ModelSpec spec() const;
};

// Parses a Hugging Face config.json of an OPTForCausalLM; errors name `where` and the field.
OptConfig opt_config_from_hf(const nlohmann::json& config, const std::string& where);

}  // namespace genrt
