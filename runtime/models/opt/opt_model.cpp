#include "runtime/models/opt/opt_model.h"

#include "runtime/io/json_file.h"
#include "runtime/io/weight_store.h"
#include "runtime/models/blocks/attention.h"
#include "runtime/models/blocks/mlp.h"
#include "runtime/models/placement.h"

namespace genrt {

NamedWeights opt_named_weights(const OptConfig& c, OptWeights& w) {
  const int64_t h = c.hidden_size;
  NamedWeights list = {{"embed_tokens.weight", {c.vocab_size, c.word_embed_proj_dim}, &w.embed_tokens},
                       {"embed_positions.weight", {c.max_position_embeddings + OptConfig::kPositionOffset, h},
                        &w.embed_positions}};
  if (c.projects()) {
    w.project_in.name_weights(list, "project_in", c.word_embed_proj_dim, h, false);
    w.project_out.name_weights(list, "project_out", h, c.word_embed_proj_dim, false);
  }
  w.layers.resize(static_cast<size_t>(c.num_hidden_layers));
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = "layers." + std::to_string(l) + ".";
    OptLayerWeights& L = w.layers[l];
    L.self_attn.qkv_proj.name_fused_weights(
        list, {{p + "self_attn.q_proj", h}, {p + "self_attn.k_proj", h}, {p + "self_attn.v_proj", h}}, h, true);
    L.self_attn.out_proj.name_weights(list, p + "self_attn.out_proj", h, h, true);
    L.self_attn_layer_norm.name_weights(list, p + "self_attn_layer_norm", h);
    L.fc1.name_weights(list, p + "fc1", h, c.ffn_dim, true);
    L.fc2.name_weights(list, p + "fc2", c.ffn_dim, h, true);
    L.final_layer_norm.name_weights(list, p + "final_layer_norm", h);
  }
  if (c.has_final_layer_norm()) w.final_layer_norm.name_weights(list, "final_layer_norm", h);
  return list;
}

// The buffers of one forward step, allocated once per step and reused by every layer.
struct OptModel::Activations {
  Tensor word;                    // [tokens, word_embed_proj_dim]: the token embeddings before project_in
  Tensor residual, h, block_out;  // [tokens, hidden]
  blocks::PagedAttentionBuffers attention;
  Tensor fc;                      // [tokens, ffn_dim]
  Tensor final_rows;              // [logit rows, hidden]
  Tensor projected_rows;          // [logit rows, word_embed_proj_dim]: final_rows after project_out
  Tensor logits;                  // [logit rows, vocab] f32
};

template <class Alloc>
OptModel::Activations OptModel::allocate_activations(const StepDims& step, DType dtype, Alloc& alloc) const {
  const OptConfig& c = config_;
  const int64_t t = step.tokens;
  const bool projects = c.projects();
  return {.word = projects ? alloc({t, c.word_embed_proj_dim}, dtype) : Tensor(),
          .residual = alloc({t, c.hidden_size}, dtype),
          .h = alloc({t, c.hidden_size}, dtype),
          .block_out = alloc({t, c.hidden_size}, dtype),
          .attention = blocks::allocate_paged_attention_buffers(
              t, {.heads = c.num_attention_heads, .kv_heads = c.num_attention_heads, .head_dim = c.head_dim()},
              dtype, alloc),
          .fc = alloc({t, c.ffn_dim}, dtype),
          .final_rows = alloc({step.logit_rows, c.hidden_size}, dtype),
          .projected_rows = projects ? alloc({step.logit_rows, c.word_embed_proj_dim}, dtype) : Tensor(),
          .logits = alloc({step.logit_rows, c.vocab_size}, DType::f32)};
}

OptModel::OptModel(OptConfig config, OptWeights weights)
    : config_(std::move(config)), spec_(config_.spec()), weights_(std::move(weights)) {}

OptModel::~OptModel() = default;
OptModel::OptModel(OptModel&&) noexcept = default;

MemoryRequest OptModel::memory_request(const DeviceOptions& options) const {
  OptWeights listed = weights_;  // handles to the same tensors: only their names and shapes are read
  const uint64_t weight_bytes = weight_footprint(opt_named_weights(config_, listed), options.dtype);
  return DecoderDevice::memory_request(spec_, options, weight_bytes, [&](const StepDims& step, DType dtype, auto& alloc) {
    allocate_activations(step, dtype, alloc);
  });
}

void OptModel::place_on(std::shared_ptr<DeviceRuntime> runtime, const DeviceOptions& options) {
  device_.place_on(std::move(runtime), options, spec_, memory_request(options), opt_named_weights(config_, weights_));
}

KvCache OptModel::make_kv_cache(int64_t blocks, int64_t block_size) const {
  return device_.make_kv_cache(spec_, blocks, block_size);
}

Tensor OptModel::forward(const ForwardBatch& batch, KvCache& cache, LogitsFor which) const {
  return device_.forward(batch, which, spec_, cache, [&](const StepInputs& in) { return forward_step(in, cache, which); });
}

Tensor OptModel::forward_step(const StepInputs& in, KvCache& cache, LogitsFor which) const {
  const OptConfig& c = config_;
  auto scratch = [&](const Shape& shape, DType dtype) { return device_.scratch(shape, dtype); };
  Activations a = allocate_activations(
      {.tokens = in.paged.tokens(), .seqs = in.paged.seqs(), .logit_rows = in.logit_rows.numel()},
      device_.activations(), scratch);
  const blocks::AttentionHeads heads{
      .heads = c.num_attention_heads, .kv_heads = c.num_attention_heads, .head_dim = c.head_dim()};
  constexpr float eps = 1e-5f;  // torch.nn.LayerNorm's default: OPT's config has no field for it

  // residual = tokens (through project_in) and block_out = positions, whose table is read
  // from its row kPositionOffset on.
  if (c.projects()) {
    ops::embedding(weights_.embed_tokens, in.ids, a.word);
    weights_.project_in(a.word, a.residual);
  } else {
    ops::embedding(weights_.embed_tokens, in.ids, a.residual);
  }
  const Tensor& table = weights_.embed_positions;
  ops::embedding(table.slice(OptConfig::kPositionOffset, table.dim(0)), in.paged.positions, a.block_out);

  const Tensor* hidden = &a.residual;  // the decoder's output, before project_out
  if (c.do_layer_norm_before) {
    // Each block's output joins the residual stream in the fused add before the next norm
    // (the first add brings in the positions).
    for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
      const OptLayerWeights& w = weights_.layers[l];
      ops::add_layernorm(a.block_out, a.residual, w.self_attn_layer_norm.weight, w.self_attn_layer_norm.bias, eps,
                         a.h);
      blocks::paged_self_attention({w.self_attn.qkv_proj, w.self_attn.out_proj},
                                   heads, nullptr, a.h, in.paged, {cache.keys(l), cache.values(l)}, a.attention,
                                   a.block_out);
      ops::add_layernorm(a.block_out, a.residual, w.final_layer_norm.weight, w.final_layer_norm.bias, eps, a.h);
      blocks::relu_mlp(w.fc1, w.fc2, a.h, a.fc, a.block_out);
    }
    if (c.has_final_layer_norm()) {
      ops::add_layernorm(a.block_out, a.residual, weights_.final_layer_norm.weight, weights_.final_layer_norm.bias,
                         eps, a.h);
      hidden = &a.h;
    } else {
      ops::add(a.block_out, a.residual, a.residual);
    }
  } else {
    // The normed sum is the next block's input and residual: it moves from residual to h
    // after attention and back after the MLP.
    ops::add(a.block_out, a.residual, a.residual);
    for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
      const OptLayerWeights& w = weights_.layers[l];
      blocks::paged_self_attention({w.self_attn.qkv_proj, w.self_attn.out_proj},
                                   heads, nullptr, a.residual, in.paged, {cache.keys(l), cache.values(l)},
                                   a.attention, a.block_out);
      ops::add_layernorm(a.block_out, a.residual, w.self_attn_layer_norm.weight, w.self_attn_layer_norm.bias, eps,
                         a.h);
      blocks::relu_mlp(w.fc1, w.fc2, a.h, a.fc, a.block_out);
      ops::add_layernorm(a.block_out, a.h, w.final_layer_norm.weight, w.final_layer_norm.bias, eps, a.residual);
    }
  }
  ops::embedding(*hidden, in.logit_rows, a.final_rows);
  // transformers' OPTModel projects its last hidden state out too.
  const Tensor& out_rows = c.projects() ? a.projected_rows : a.final_rows;
  if (c.projects()) weights_.project_out(a.final_rows, a.projected_rows);
  if (which == LogitsFor::last_token_hidden) return out_rows;
  ops::linear(out_rows, weights_.embed_tokens, Tensor(), a.logits);
  return a.logits;
}

OptModel load_opt(const std::filesystem::path& dir, const DeviceOptions& device) {
  const auto config_path = dir / "config.json";
  const OptConfig c = opt_config_from_hf(read_json_file(config_path), config_path.string());
  const WeightStore store = WeightStore::open_dir(dir);
  OptWeights w;
  load_named_weights(store, opt_named_weights(c, w),
                     store.contains("model.decoder.embed_tokens.weight") ? "model.decoder." : "decoder.");
  OptModel model(c, std::move(w));
  if (device.device == Device::cuda) place_alone(model, device);
  return model;
}

}  // namespace genrt
