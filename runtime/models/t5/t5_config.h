#pragma once
// The shape of a T5 (T5ForConditionalGeneration), original or v1.1/FLAN: an encoder and a
// decoder of pre-norm blocks with RMS-style layer norms (no bias, no mean), attention
// without 1/sqrt(d) scaling whose scores get a learned relative position bias (computed by
// each stack's first layer and shared by the others), the decoder's cross-attention to the
// encoder's output, a ReLU or gated-GELU feed-forward, and an LM head tied to the shared
// embedding (its input then scaled by d_model^-1/2) or its own.

#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "runtime/models/causal_lm.h"

namespace genrt {

struct T5Config {
  int64_t vocab_size = 0;
  int64_t d_model = 0;
  int64_t d_kv = 0;  // per head; num_heads * d_kv need not be d_model
  int64_t d_ff = 0;
  int64_t num_layers = 0;          // encoder blocks
  int64_t num_decoder_layers = 0;  // num_layers when absent
  int64_t num_heads = 0;
  int64_t relative_attention_num_buckets = 32;
  int64_t relative_attention_max_distance = 128;
  double layer_norm_epsilon = 1e-6;
  bool gated = false;  // feed_forward_proj "gated-gelu": wo(gelu(wi_0 x) * wi_1 x); else "relu": wo(relu(wi x))
  bool tie_word_embeddings = true;
  // T5's positions are relative, so nothing in the model limits them; genrt plans a context
  // (encoder input, start token and output together) of 2 * n_positions, room for an input
  // as long as T5's tokenizer makes one and as long an output.
  int64_t n_positions = 512;
  int32_t pad_token_id = 0;
  int32_t eos_token_id = 1;
  int32_t decoder_start_token_id = 0;

  int64_t inner_dim() const { return num_heads * d_kv; }
  int64_t parameter_count() const;
  // The KV cache has 2 * num_decoder_layers layers: each decoder block's self-attention, then
  // its cross-attention's keys and values of the encoder output (T5Model's layout).
  ModelSpec spec() const;
};

// Parses a Hugging Face config.json of a T5ForConditionalGeneration; errors name `where`
// and the field.
T5Config t5_config_from_hf(const nlohmann::json& config, const std::string& where);

}  // namespace genrt
