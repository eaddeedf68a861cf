#include "runtime/models/llama/llama_model.h"

#include <algorithm>
#include <cmath>

#include "runtime/backend/ops.h"
#include "runtime/models/llama/rope_frequencies.h"

namespace genrt {

LlamaModel::LlamaModel(LlamaConfig config, LlamaWeights weights)
    : config_(std::move(config)), spec_(config_.spec()), weights_(std::move(weights)) {
  const std::vector<float> inv_freq = rope_inv_frequencies(config_);
  inv_freq_ = Tensor::zeros({static_cast<int64_t>(inv_freq.size())}, DType::f32);
  std::copy(inv_freq.begin(), inv_freq.end(), inv_freq_.data<float>());
}

Tensor LlamaModel::forward(const ForwardBatch& batch, KvCache& cache, LogitsFor which) const {
  const auto n_tokens = static_cast<int64_t>(batch.tokens.size());
  const int64_t hidden = config_.hidden_size;

  const Tensor ids = batch_token_ids(batch);
  const PagedBatch paged = make_paged_batch(batch, cache.shape().block_size, config_.max_position_embeddings);

  // The residual stream; each block's output is added into it by the next fused add+norm.
  Tensor residual = Tensor::zeros({n_tokens, hidden}, DType::f32);
  Tensor h = Tensor::zeros({n_tokens, hidden}, DType::f32);
  Tensor block_out = Tensor::zeros({n_tokens, hidden}, DType::f32);
  ops::embedding(weights_.embed_tokens, ids, residual);

  for (int64_t l = 0; l < config_.num_hidden_layers; ++l) {
    const LlamaLayerWeights& w = weights_.layers[l];
    if (l == 0) {
      ops::rmsnorm(residual, w.input_layernorm, config_.rms_norm_eps, h);
    } else {
      ops::add_rmsnorm(block_out, residual, w.input_layernorm, config_.rms_norm_eps, h);
    }
    attention_block(w, l, paged, h, cache, block_out);
    ops::add_rmsnorm(block_out, residual, w.post_attention_layernorm, config_.rms_norm_eps, h);
    mlp_block(w, h, block_out);
  }
  ops::add_rmsnorm(block_out, residual, weights_.norm, config_.rms_norm_eps, h);

  const Tensor row_ids = logit_rows(batch, which);
  Tensor final_rows = Tensor::zeros({row_ids.numel(), hidden}, DType::f32);
  ops::embedding(h, row_ids, final_rows);
  Tensor logits = Tensor::zeros({final_rows.dim(0), config_.vocab_size}, DType::f32);
  ops::linear(final_rows, weights_.lm_head, Tensor(), logits);
  return logits;
}

void LlamaModel::attention_block(const LlamaLayerWeights& w, int64_t layer, const PagedBatch& paged,
                                 const Tensor& h, KvCache& cache, Tensor& out) const {
  const int64_t n_tokens = h.dim(0);
  const int64_t heads = config_.num_attention_heads, kv_heads = config_.num_key_value_heads;
  const int64_t head_dim = config_.head_dim;
  Tensor q = Tensor::zeros({n_tokens, config_.q_dim()}, DType::f32);
  Tensor k = Tensor::zeros({n_tokens, config_.kv_dim()}, DType::f32);
  Tensor v = Tensor::zeros({n_tokens, config_.kv_dim()}, DType::f32);
  ops::linear(h, w.q_proj, w.q_bias, q);
  ops::linear(h, w.k_proj, w.k_bias, k);
  ops::linear(h, w.v_proj, w.v_bias, v);
  q = q.reshape({n_tokens, heads, head_dim});
  k = k.reshape({n_tokens, kv_heads, head_dim});
  v = v.reshape({n_tokens, kv_heads, head_dim});
  ops::rope_kv_write(q, k, v, paged, inv_freq_, config_.rope_layout, cache.keys(layer), cache.values(layer));

  Tensor attn = Tensor::zeros({n_tokens, heads, head_dim}, DType::f32);
  ops::paged_attention(q, cache.keys(layer), cache.values(layer), paged,
                       1.0f / std::sqrt(static_cast<float>(head_dim)), attn);
  ops::linear(attn.reshape({n_tokens, config_.q_dim()}), w.o_proj, w.o_bias, out);
}

void LlamaModel::mlp_block(const LlamaLayerWeights& w, const Tensor& h, Tensor& out) const {
  const int64_t n_tokens = h.dim(0);
  Tensor gate = Tensor::zeros({n_tokens, config_.intermediate_size}, DType::f32);
  Tensor up = Tensor::zeros({n_tokens, config_.intermediate_size}, DType::f32);
  ops::linear(h, w.gate_proj, Tensor(), gate);
  ops::linear(h, w.up_proj, Tensor(), up);
  ops::swiglu(gate, up, gate);
  ops::linear(gate, w.down_proj, Tensor(), out);
}

}  // namespace genrt
