#include "runtime/models/gpt2/gpt2_model.h"

#include "runtime/io/json_file.h"
#include "runtime/io/weight_store.h"
#include "runtime/models/blocks/attention.h"
#include "runtime/models/blocks/mlp.h"
#include "runtime/models/placement.h"

namespace genrt {

NamedWeights gpt2_named_weights(const Gpt2Config& c, Gpt2Weights& w) {
  using blocks::WeightLayout;
  const int64_t n = c.n_embd;
  NamedWeights list = {{"wte.weight", {c.vocab_size, n}, &w.wte}, {"wpe.weight", {c.n_positions, n}, &w.wpe}};
  w.h.resize(static_cast<size_t>(c.n_layer));
  for (int64_t l = 0; l < c.n_layer; ++l) {
    const std::string p = "h." + std::to_string(l) + ".";
    Gpt2LayerWeights& L = w.h[l];
    L.ln_1.name_weights(list, p + "ln_1", n);
    L.attn.c_attn.name_weights(list, p + "attn.c_attn", n, 3 * n, true, WeightLayout::in_out);
    L.attn.c_proj.name_weights(list, p + "attn.c_proj", n, n, true, WeightLayout::in_out);
    L.ln_2.name_weights(list, p + "ln_2", n);
    L.mlp.c_fc.name_weights(list, p + "mlp.c_fc", n, c.n_inner, true, WeightLayout::in_out);
    L.mlp.c_proj.name_weights(list, p + "mlp.c_proj", c.n_inner, n, true, WeightLayout::in_out);
  }
  w.ln_f.name_weights(list, "ln_f", n);
  return list;
}

// The buffers of one forward step, allocated once per step and reused by every layer.
struct Gpt2Model::Activations {
  Tensor residual, h, block_out;  // [tokens, n_embd]
  blocks::PagedAttentionBuffers attention;
  Tensor fc;          // [tokens, n_inner]
  Tensor final_rows;  // [logit rows, n_embd]
  Tensor logits;      // [logit rows, vocab] f32
};

template <class Alloc>
Gpt2Model::Activations Gpt2Model::allocate_activations(const StepDims& step, DType dtype, Alloc& alloc) const {
  const Gpt2Config& c = config_;
  const int64_t t = step.tokens;
  return {.residual = alloc({t, c.n_embd}, dtype),
          .h = alloc({t, c.n_embd}, dtype),
          .block_out = alloc({t, c.n_embd}, dtype),
          .attention = blocks::allocate_paged_attention_buffers(
              t, {.heads = c.n_head, .kv_heads = c.n_head, .head_dim = c.head_dim()}, dtype, alloc),
          .fc = alloc({t, c.n_inner}, dtype),
          .final_rows = alloc({step.logit_rows, c.n_embd}, dtype),
          .logits = alloc({step.logit_rows, c.vocab_size}, DType::f32)};
}

Gpt2Model::Gpt2Model(Gpt2Config config, Gpt2Weights weights)
    : config_(std::move(config)), spec_(config_.spec()), weights_(std::move(weights)) {}

Gpt2Model::~Gpt2Model() = default;
Gpt2Model::Gpt2Model(Gpt2Model&&) noexcept = default;

MemoryRequest Gpt2Model::memory_request(const DeviceOptions& options) const {
  Gpt2Weights listed = weights_;  // handles to the same tensors: only their names and shapes are read
  const uint64_t weight_bytes = weight_footprint(gpt2_named_weights(config_, listed), options.dtype);
  return DecoderDevice::memory_request(spec_, options, weight_bytes, [&](const StepDims& step, DType dtype, auto& alloc) {
    allocate_activations(step, dtype, alloc);
  });
}

void Gpt2Model::place_on(std::shared_ptr<DeviceRuntime> runtime, const DeviceOptions& options) {
  device_.place_on(std::move(runtime), options, spec_, memory_request(options), gpt2_named_weights(config_, weights_));
}

KvCache Gpt2Model::make_kv_cache(int64_t blocks, int64_t block_size) const {
  return device_.make_kv_cache(spec_, blocks, block_size);
}

Tensor Gpt2Model::forward(const ForwardBatch& batch, KvCache& cache, LogitsFor which) const {
  return device_.forward(batch, which, spec_, cache, [&](const StepInputs& in) { return forward_step(in, cache, which); });
}

Tensor Gpt2Model::forward_step(const StepInputs& in, KvCache& cache, LogitsFor which) const {
  const Gpt2Config& c = config_;
  auto scratch = [&](const Shape& shape, DType dtype) { return device_.scratch(shape, dtype); };
  Activations a = allocate_activations(
      {.tokens = in.paged.tokens(), .seqs = in.paged.seqs(), .logit_rows = in.logit_rows.numel()},
      device_.activations(), scratch);
  const blocks::AttentionHeads heads{.heads = c.n_head, .kv_heads = c.n_head, .head_dim = c.head_dim()};
  const auto eps = static_cast<float>(c.layer_norm_epsilon);

  // residual = token + position embeddings, added by the first fused add+norm.
  ops::embedding(weights_.wte, in.ids, a.residual);
  ops::embedding(weights_.wpe, in.paged.positions, a.block_out);
  for (int64_t l = 0; l < c.n_layer; ++l) {
    const Gpt2LayerWeights& w = weights_.h[l];
    ops::add_layernorm(a.block_out, a.residual, w.ln_1.weight, w.ln_1.bias, eps, a.h);
    blocks::paged_self_attention({w.attn.c_attn, w.attn.c_proj}, heads, nullptr, a.h, in.paged,
                                 {cache.keys(l), cache.values(l)}, a.attention, a.block_out);
    ops::add_layernorm(a.block_out, a.residual, w.ln_2.weight, w.ln_2.bias, eps, a.h);
    blocks::gelu_mlp(w.mlp.c_fc, w.mlp.c_proj, c.gelu, a.h, a.fc, a.block_out);
  }
  ops::add_layernorm(a.block_out, a.residual, weights_.ln_f.weight, weights_.ln_f.bias, eps, a.h);
  ops::embedding(a.h, in.logit_rows, a.final_rows);
  if (which == LogitsFor::last_token_hidden) return a.final_rows;
  ops::linear(a.final_rows, weights_.wte, Tensor(), a.logits);
  return a.logits;
}

Gpt2Model load_gpt2(const std::filesystem::path& dir, const DeviceOptions& device) {
  const auto config_path = dir / "config.json";
  const Gpt2Config c = gpt2_config_from_hf(read_json_file(config_path), config_path.string());
  const WeightStore store = WeightStore::open_dir(dir);
  Gpt2Weights w;
  load_named_weights(store, gpt2_named_weights(c, w), store.contains("transformer.wte.weight") ? "transformer." : "");
  Gpt2Model model(c, std::move(w));
  if (device.device == Device::cuda) place_alone(model, device);
  return model;
}

}  // namespace genrt
