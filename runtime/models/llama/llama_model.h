#pragma once
// The Llama-family decoder on genrt's op entries: pre-norm RMSNorm blocks, rotary GQA
// attention over the paged KV cache, SwiGLU MLP.

#include <cstdint>
#include <vector>

#include "runtime/core/tensor.h"
#include "runtime/models/causal_lm.h"
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

class LlamaModel final : public CausalLM {
 public:
  LlamaModel(LlamaConfig config, LlamaWeights weights);

  const ModelSpec& spec() const override { return spec_; }
  const LlamaConfig& config() const { return config_; }
  const LlamaWeights& weights() const { return weights_; }
  Tensor forward(const ForwardBatch& batch, KvCache& cache, LogitsFor which) const override;

 private:
  void attention_block(const LlamaLayerWeights& w, int64_t layer, const PagedBatch& paged, const Tensor& h,
                       KvCache& cache, Tensor& out) const;
  void mlp_block(const LlamaLayerWeights& w, const Tensor& h, Tensor& out) const;

  LlamaConfig config_;
  ModelSpec spec_;
  LlamaWeights weights_;
  Tensor inv_freq_;  // [head_dim / 2]
};

}  // namespace genrt
