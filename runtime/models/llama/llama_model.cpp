#include "runtime/models/llama/llama_model.h"

#include <algorithm>

#include "runtime/memory/device_arena.h"
#include "runtime/models/blocks/attention.h"
#include "runtime/models/blocks/mlp.h"
#include "runtime/models/llama/rope_frequencies.h"

namespace genrt {

NamedWeights llama_named_weights(const LlamaConfig& c, LlamaWeights& w) {
  const int64_t hidden = c.hidden_size, inter = c.intermediate_size;
  NamedWeights list = {{"model.embed_tokens.weight", {c.vocab_size, hidden}, &w.embed_tokens}};
  w.layers.resize(static_cast<size_t>(c.num_hidden_layers));
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    LlamaLayerWeights& L = w.layers[l];
    L.input_layernorm.name_weights(list, p + "input_layernorm", hidden);
    L.self_attn.qkv_proj.name_fused_weights(list,
                                            {{p + "self_attn.q_proj", c.q_dim()},
                                             {p + "self_attn.k_proj", c.kv_dim()},
                                             {p + "self_attn.v_proj", c.kv_dim()}},
                                            hidden, c.qkv_bias);
    L.self_attn.o_proj.name_weights(list, p + "self_attn.o_proj", c.q_dim(), hidden, c.o_bias);
    L.post_attention_layernorm.name_weights(list, p + "post_attention_layernorm", hidden);
    L.mlp.gate_up_proj.name_fused_weights(list, {{p + "mlp.gate_proj", inter}, {p + "mlp.up_proj", inter}}, hidden,
                                          false);
    L.mlp.down_proj.name_weights(list, p + "mlp.down_proj", inter, hidden, false);
  }
  w.norm.name_weights(list, "model.norm", hidden);
  if (!w.lm_head_tied) w.lm_head.name_weights(list, "lm_head", hidden, c.vocab_size, false);
  return list;
}

// The buffers of one forward step, allocated once per step and reused by every layer.
struct LlamaModel::Activations {
  Tensor residual, h, block_out;  // [tokens, hidden]; residual is the stream the fused add+norms update
  blocks::PagedAttentionBuffers attention;
  Tensor gate_up;                 // [tokens, 2 intermediate]
  Tensor act;                     // [tokens, intermediate]
  Tensor final_rows;              // [logit rows, hidden]
  Tensor logits;                  // [logit rows, vocab] f32
};

template <class Alloc>
LlamaModel::Activations LlamaModel::allocate_activations(const StepDims& step, DType dtype, Alloc& alloc) const {
  const LlamaConfig& c = config_;
  const int64_t t = step.tokens;
  return {.residual = alloc({t, c.hidden_size}, dtype),
          .h = alloc({t, c.hidden_size}, dtype),
          .block_out = alloc({t, c.hidden_size}, dtype),
          .attention = blocks::allocate_paged_attention_buffers(
              t, {.heads = c.num_attention_heads, .kv_heads = c.num_key_value_heads, .head_dim = c.head_dim}, dtype,
              alloc),
          .gate_up = alloc({t, 2 * c.intermediate_size}, dtype),
          .act = alloc({t, c.intermediate_size}, dtype),
          .final_rows = alloc({step.logit_rows, c.hidden_size}, dtype),
          .logits = alloc({step.logit_rows, c.vocab_size}, DType::f32)};
}

LlamaModel::LlamaModel(LlamaConfig config, LlamaWeights weights)
    : config_(std::move(config)), spec_(config_.spec()), weights_(std::move(weights)) {
  if (weights_.lm_head_tied) weights_.lm_head = {weights_.embed_tokens, Tensor()};
  const std::vector<float> inv_freq = rope_inv_frequencies(config_);
  inv_freq_ = Tensor::zeros({static_cast<int64_t>(inv_freq.size())}, DType::f32);
  std::copy(inv_freq.begin(), inv_freq.end(), inv_freq_.data<float>());
}

LlamaModel::~LlamaModel() = default;
LlamaModel::LlamaModel(LlamaModel&&) noexcept = default;

MemoryRequest LlamaModel::memory_request(const DeviceOptions& options) const {
  LlamaWeights listed = weights_;  // handles to the same tensors: only their names and shapes are read
  const uint64_t weight_bytes = weight_footprint(llama_named_weights(config_, listed), options.dtype) +
                                DeviceArena::footprint(inv_freq_.nbytes());
  return DecoderDevice::memory_request(spec_, options, weight_bytes, [&](const StepDims& step, DType dtype, auto& alloc) {
    allocate_activations(step, dtype, alloc);
  });
}

void LlamaModel::place_on(std::shared_ptr<DeviceRuntime> runtime, const DeviceOptions& options) {
  device_.place_on(std::move(runtime), options, spec_, memory_request(options), llama_named_weights(config_, weights_));
  if (weights_.lm_head_tied) weights_.lm_head = {weights_.embed_tokens, Tensor()};
  inv_freq_ = device_.runtime()->upload_weight(inv_freq_, DType::f32);
}

KvCache LlamaModel::make_kv_cache(int64_t blocks, int64_t block_size) const {
  return device_.make_kv_cache(spec_, blocks, block_size);
}

Tensor LlamaModel::forward(const ForwardBatch& batch, KvCache& cache, LogitsFor which) const {
  return device_.forward(batch, which, spec_, cache, [&](const StepInputs& in) { return forward_step(in, cache, which); });
}

Tensor LlamaModel::forward_step(const StepInputs& in, KvCache& cache, LogitsFor which) const {
  const LlamaConfig& c = config_;
  auto scratch = [&](const Shape& shape, DType dtype) { return device_.scratch(shape, dtype); };
  Activations a = allocate_activations(
      {.tokens = in.paged.tokens(), .seqs = in.paged.seqs(), .logit_rows = in.logit_rows.numel()},
      device_.activations(), scratch);
  const blocks::AttentionHeads heads{
      .heads = c.num_attention_heads, .kv_heads = c.num_key_value_heads, .head_dim = c.head_dim};
  const blocks::Rotary rotary{.inv_freq = inv_freq_, .layout = c.rope_layout};
  const auto eps = static_cast<float>(c.rms_norm_eps);

  ops::embedding(weights_.embed_tokens, in.ids, a.residual);
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const LlamaLayerWeights& w = weights_.layers[l];
    if (l == 0) {
      ops::rmsnorm(a.residual, w.input_layernorm.weight, eps, a.h);
    } else {
      ops::add_rmsnorm(a.block_out, a.residual, w.input_layernorm.weight, eps, a.h);
    }
    const LlamaAttentionWeights& attn = w.self_attn;
    blocks::paged_self_attention({attn.qkv_proj, attn.o_proj}, heads, &rotary, a.h, in.paged,
                                 {cache.keys(l), cache.values(l), c.layer_window(l)}, a.attention, a.block_out);
    ops::add_rmsnorm(a.block_out, a.residual, w.post_attention_layernorm.weight, eps, a.h);
    blocks::swiglu_mlp(w.mlp.gate_up_proj, w.mlp.down_proj, a.h, a.gate_up, a.act, a.block_out);
  }
  ops::add_rmsnorm(a.block_out, a.residual, weights_.norm.weight, eps, a.h);
  ops::embedding(a.h, in.logit_rows, a.final_rows);
  if (which == LogitsFor::last_token_hidden) return a.final_rows;
  weights_.lm_head(a.final_rows, a.logits);
  return a.logits;
}

}  // namespace genrt
