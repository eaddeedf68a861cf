#pragma once
// The shape of a BERT-style encoder (BertModel, BertForMaskedLM, RobertaModel,
// RobertaForMaskedLM, and XLM-RoBERTa's two, RoBERTa's graph): learned absolute positions (RoBERTa's start after its padding
// index), token-type embeddings, post-LayerNorm blocks of non-causal multi-head attention
// and a GELU MLP, and for the *ForMaskedLM architectures a masked-LM head tied to the word
// embedding.

#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "kernels/ref/activations.h"

namespace genrt {

struct BertConfig {
  std::string architecture;  // BertModel, BertForMaskedLM, RobertaModel, RobertaForMaskedLM or XLM-R's
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t intermediate_size = 0;
  int64_t max_position_embeddings = 0;  // rows of the position table
  int64_t type_vocab_size = 0;
  double layer_norm_eps = 1e-12;
  ref::Activation hidden_act = ref::Activation::gelu_erf;
  // Row of the position table that position 0 reads: 0 for BERT, pad_token_id + 1 for
  // RoBERTa (its positions count from after the padding index).
  int64_t position_offset = 0;

  bool is_roberta() const { return architecture.starts_with("Roberta") || architecture.starts_with("XLMRoberta"); }
  bool has_mlm_head() const { return architecture.ends_with("ForMaskedLM"); }
  int64_t head_dim() const { return hidden_size / num_attention_heads; }
  // Tokens one sequence may have: the position rows from the offset on.
  int64_t context_length() const { return max_position_embeddings - position_offset; }
};

// Parses a Hugging Face config.json of a BERT or RoBERTa encoder; errors name `where` and
// the field.
BertConfig bert_config_from_hf(const nlohmann::json& config, const std::string& where);

// Whether a config.json describes one of the encoders above (by architectures, else model_type).
bool is_bert_encoder(const nlohmann::json& config);

}  // namespace genrt
