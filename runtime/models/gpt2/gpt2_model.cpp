#include "runtime/models/gpt2/gpt2_model.h"

#include <cmath>

#include "runtime/backend/ops.h"
#include "runtime/io/json_file.h"
#include "runtime/io/weight_store.h"

namespace genrt {

Gpt2Model::Gpt2Model(Gpt2Config config, Gpt2Weights weights)
    : config_(std::move(config)), spec_(config_.spec()), weights_(std::move(weights)) {}

Tensor Gpt2Model::forward(const ForwardBatch& batch, KvCache& cache, LogitsFor which) const {
  const auto n_tokens = static_cast<int64_t>(batch.tokens.size());
  const int64_t n_embd = config_.n_embd, heads = config_.n_head, head_dim = config_.head_dim();
  const float eps = static_cast<float>(config_.layer_norm_epsilon);
  const PagedBatch paged = make_paged_batch(batch, cache.shape().block_size, config_.n_positions);
  const float attn_scale = 1.0f / std::sqrt(static_cast<float>(head_dim));

  // residual = token + position embeddings, added by the first fused add+norm.
  Tensor residual = Tensor::zeros({n_tokens, n_embd}, DType::f32);
  Tensor block_out = Tensor::zeros({n_tokens, n_embd}, DType::f32);
  Tensor h = Tensor::zeros({n_tokens, n_embd}, DType::f32);
  ops::embedding(weights_.wte, batch_token_ids(batch), residual);
  ops::embedding(weights_.wpe, paged.positions, block_out);

  Tensor q = Tensor::zeros({n_tokens, n_embd}, DType::f32);
  Tensor k = Tensor::zeros({n_tokens, n_embd}, DType::f32);
  Tensor v = Tensor::zeros({n_tokens, n_embd}, DType::f32);
  Tensor attn = Tensor::zeros({n_tokens, heads, head_dim}, DType::f32);
  Tensor fc = Tensor::zeros({n_tokens, config_.n_inner}, DType::f32);
  for (int64_t l = 0; l < config_.n_layer; ++l) {
    const Gpt2LayerWeights& w = weights_.layers[l];
    ops::add_layernorm(block_out, residual, w.ln_1_weight, w.ln_1_bias, eps, h);
    ops::linear(h, w.q_proj, w.q_bias, q);
    ops::linear(h, w.k_proj, w.k_bias, k);
    ops::linear(h, w.v_proj, w.v_bias, v);
    const Shape heads_shape = {n_tokens, heads, head_dim};
    ops::kv_cache_write(k.reshape(heads_shape), v.reshape(heads_shape), paged, cache.keys(l), cache.values(l));
    ops::paged_attention(q.reshape(heads_shape), cache.keys(l), cache.values(l), paged, attn_scale, attn);
    ops::linear(attn.reshape({n_tokens, n_embd}), w.attn_c_proj, w.attn_c_proj_bias, block_out);
    ops::add_layernorm(block_out, residual, w.ln_2_weight, w.ln_2_bias, eps, h);
    ops::linear(h, w.mlp_c_fc, w.mlp_c_fc_bias, fc);
    ops::gelu(fc, fc, config_.gelu);
    ops::linear(fc, w.mlp_c_proj, w.mlp_c_proj_bias, block_out);
  }
  ops::add_layernorm(block_out, residual, weights_.ln_f_weight, weights_.ln_f_bias, eps, h);

  const Tensor row_ids = logit_rows(batch, which);
  Tensor rows = Tensor::zeros({row_ids.numel(), n_embd}, DType::f32);
  ops::embedding(h, row_ids, rows);
  Tensor logits = Tensor::zeros({rows.dim(0), config_.vocab_size}, DType::f32);
  ops::linear(rows, weights_.wte, Tensor(), logits);
  return logits;
}

Gpt2Model load_gpt2(const std::filesystem::path& dir) {
  const auto config_path = dir / "config.json";
  const Gpt2Config c = gpt2_config_from_hf(read_json_file(config_path), config_path.string());
  const WeightStore store = WeightStore::open_dir(dir);
  const std::string prefix = store.contains("transformer.wte.weight") ? "transformer." : "";
  auto get = [&](const std::string& name, const Shape& shape) {
    const Tensor t = store.get(prefix + name);
    GENRT_CHECK(t.shape() == shape, "tensor '{}' has shape {}, but {} implies {}", prefix + name,
                shape_string(t.shape()), config_path.string(), shape_string(shape));
    return t.to_f32();
  };
  const int64_t n = c.n_embd;

  Gpt2Weights w;
  w.wte = get("wte.weight", {c.vocab_size, n});
  w.wpe = get("wpe.weight", {c.n_positions, n});
  for (int64_t l = 0; l < c.n_layer; ++l) {
    const std::string p = "h." + std::to_string(l) + ".";
    Gpt2LayerWeights& L = w.layers.emplace_back();
    L.ln_1_weight = get(p + "ln_1.weight", {n});
    L.ln_1_bias = get(p + "ln_1.bias", {n});
    // c_attn is a Conv1D [n, 3n]: transposed, its rows are q, then k, then v.
    const Tensor qkv = get(p + "attn.c_attn.weight", {n, 3 * n}).transposed_f32();
    const Tensor qkv_bias = get(p + "attn.c_attn.bias", {3 * n});
    L.q_proj = qkv.slice(0, n);
    L.k_proj = qkv.slice(n, 2 * n);
    L.v_proj = qkv.slice(2 * n, 3 * n);
    L.q_bias = qkv_bias.slice(0, n);
    L.k_bias = qkv_bias.slice(n, 2 * n);
    L.v_bias = qkv_bias.slice(2 * n, 3 * n);
    L.attn_c_proj = get(p + "attn.c_proj.weight", {n, n}).transposed_f32();
    L.attn_c_proj_bias = get(p + "attn.c_proj.bias", {n});
    L.ln_2_weight = get(p + "ln_2.weight", {n});
    L.ln_2_bias = get(p + "ln_2.bias", {n});
    L.mlp_c_fc = get(p + "mlp.c_fc.weight", {n, c.n_inner}).transposed_f32();
    L.mlp_c_fc_bias = get(p + "mlp.c_fc.bias", {c.n_inner});
    L.mlp_c_proj = get(p + "mlp.c_proj.weight", {c.n_inner, n}).transposed_f32();
    L.mlp_c_proj_bias = get(p + "mlp.c_proj.bias", {n});
  }
  w.ln_f_weight = get("ln_f.weight", {n});
  w.ln_f_bias = get("ln_f.bias", {n});
  return Gpt2Model(c, std::move(w));
}

}  // namespace genrt
