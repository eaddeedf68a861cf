#pragma once
// The Llama-family decoder on genrt's op entries. One forward call runs a batch of
// sequences, each contributing any number of new tokens (a whole prompt in prefill,
// one token in decode), packed one after another along a single token dimension.

#include <cstdint>
#include <vector>

#include "runtime/core/tensor.h"
#include "runtime/memory/kv_cache.h"
#include "runtime/models/llama/llama_config.h"

namespace genrt {

// Member names follow the Hugging Face checkpoint names (model.layers.N.<name>.weight).
struct LlamaLayerWeights {
  Tensor input_layernorm;           // [hidden]
  Tensor q_proj, k_proj, v_proj;    // [q_dim | kv_dim, hidden]
  Tensor q_bias, k_bias, v_bias;    // [q_dim | kv_dim], or undefined
  Tensor o_proj;                    // [hidden, q_dim]
  Tensor o_bias;                    // [hidden], or undefined
  Tensor post_attention_layernorm;  // [hidden]
  Tensor gate_proj, up_proj;        // [intermediate, hidden]
  Tensor down_proj;                 // [hidden, intermediate]
};

struct LlamaWeights {
  Tensor embed_tokens;  // [vocab, hidden]
  std::vector<LlamaLayerWeights> layers;
  Tensor norm;     // [hidden]
  Tensor lm_head;  // [vocab, hidden]; embed_tokens when tied
};

// One sequence's share of a forward step.
struct SequenceChunk {
  int64_t first_token = 0;  // index of its first new token in ForwardBatch::tokens
  int64_t n_tokens = 0;
  int64_t start_pos = 0;    // position of its first new token = tokens already cached
  const BlockTable* blocks = nullptr;  // must cover start_pos + n_tokens positions
};

struct ForwardBatch {
  std::vector<int32_t> tokens;  // [total new tokens], sequence after sequence
  std::vector<SequenceChunk> sequences;
};

enum class LogitsFor { last_token, all_tokens };

class LlamaModel {
 public:
  LlamaModel(LlamaConfig config, LlamaWeights weights);

  const LlamaConfig& config() const { return config_; }
  const LlamaWeights& weights() const { return weights_; }
  KvCacheShape kv_cache_shape(int64_t blocks, int64_t block_size) const;

  // Writes the new tokens' keys and values into `cache` and returns fp32 logits:
  // [sequences, vocab] for each sequence's last token, or [tokens, vocab] for all.
  Tensor forward(const ForwardBatch& batch, KvCache& cache, LogitsFor which) const;

 private:
  void attention_block(const LlamaLayerWeights& w, int64_t layer, const ForwardBatch& batch,
                       const Tensor& positions, const Tensor& h, KvCache& cache, Tensor& out) const;
  void mlp_block(const LlamaLayerWeights& w, const Tensor& h, Tensor& out) const;

  LlamaConfig config_;
  LlamaWeights weights_;
  Tensor inv_freq_;  // [head_dim / 2]
};

}  // namespace genrt
