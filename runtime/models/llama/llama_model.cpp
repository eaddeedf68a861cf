#include "runtime/models/llama/llama_model.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>

#include <spdlog/spdlog.h>

#include "runtime/backend/ops.h"
#include "runtime/backend/sampling_ops.h"
#include "runtime/models/llama/rope_frequencies.h"

namespace genrt {

namespace {

constexpr int64_t kBlockSize = 16;

uint64_t aligned(uint64_t bytes) { return DeviceArena::footprint(bytes); }

// Every weight tensor of the model, for uploading and sizing.
std::vector<Tensor*> all_weights(LlamaWeights& w) {
  std::vector<Tensor*> out = {&w.embed_tokens, &w.norm, &w.lm_head};
  for (LlamaLayerWeights& l : w.layers) {
    for (Tensor* t : {&l.input_layernorm, &l.q_proj, &l.k_proj, &l.v_proj, &l.q_bias, &l.k_bias, &l.v_bias,
                      &l.o_proj, &l.o_bias, &l.post_attention_layernorm, &l.gate_proj, &l.up_proj, &l.down_proj}) {
      out.push_back(t);
    }
  }
  return out;
}

}  // namespace

// The buffers of one forward step: on the CPU fresh fp32 tensors, on the GPU carved from
// the workspace, allocated once per step and reused by every layer.
struct LlamaModel::Activations {
  Tensor residual, h, block_out;  // [tokens, hidden]; residual is the stream the fused add+norms update
  Tensor q, attn;                 // [tokens, heads, head_dim]
  Tensor k, v;                    // [tokens, kv_heads, head_dim]
  Tensor gate, up;                // [tokens, intermediate]
};

LlamaModel::LlamaModel(LlamaConfig config, LlamaWeights weights, const DeviceOptions& device)
    : config_(std::move(config)), spec_(config_.spec()), weights_(std::move(weights)), device_(device) {
  const std::vector<float> inv_freq = rope_inv_frequencies(config_);
  inv_freq_ = Tensor::zeros({static_cast<int64_t>(inv_freq.size())}, DType::f32);
  std::copy(inv_freq.begin(), inv_freq.end(), inv_freq_.data<float>());
  if (device.device == Device::cuda) move_to_device(device);
}

LlamaModel::~LlamaModel() = default;
LlamaModel::LlamaModel(LlamaModel&&) noexcept = default;

uint64_t LlamaModel::workspace_bytes(int64_t tokens, int64_t seqs) const {
  const LlamaConfig& c = config_;
  const auto e = static_cast<uint64_t>(dtype_size(device_.dtype));
  const auto t = static_cast<uint64_t>(tokens), s = static_cast<uint64_t>(seqs);
  const auto max_blocks = static_cast<uint64_t>((spec_.context_length + kBlockSize - 1) / kBlockSize);
  // Step metadata (i32): token ids, positions, slots, query starts, context lengths,
  // block tables, logit row ids.
  const uint64_t metadata = 3 * aligned(4 * t) + aligned(4 * (s + 1)) + aligned(4 * s) + aligned(4 * s * max_blocks) +
                            aligned(4 * s);
  const auto h = static_cast<uint64_t>(c.hidden_size), q = static_cast<uint64_t>(c.q_dim());
  const auto kv = static_cast<uint64_t>(c.kv_dim()), ff = static_cast<uint64_t>(c.intermediate_size);
  const uint64_t activations = 3 * aligned(t * h * e) + 2 * aligned(t * q * e) + 2 * aligned(t * kv * e) +
                               2 * aligned(t * ff * e) + aligned(s * h * e) +
                               aligned(s * static_cast<uint64_t>(c.vocab_size) * 4);
  return metadata + activations + ops::sampling_workspace_bytes(seqs, c.vocab_size, spec_.context_length);
}

void LlamaModel::move_to_device(const DeviceOptions& device) {
  GENRT_CHECK(device.dtype == DType::bf16 || device.dtype == DType::f16,
              "--dtype {}: the GPU runs models in bf16 or f16", dtype_name(device.dtype));
  // By default a whole prompt, or the batch scheduler's default step of 512 tokens.
  if (device_.max_step_tokens <= 0) device_.max_step_tokens = std::max<int64_t>(spec_.context_length, 512);
  GENRT_CHECK(device_.max_step_seqs > 0, "max_step_seqs must be positive");
  const auto e = static_cast<uint64_t>(dtype_size(device.dtype));
  const bool tied = weights_.lm_head.raw() == weights_.embed_tokens.raw();
  uint64_t weight_bytes = aligned(inv_freq_.nbytes());
  for (Tensor* t : all_weights(weights_)) {
    if (t->defined() && !(tied && t == &weights_.lm_head)) weight_bytes += aligned(static_cast<uint64_t>(t->numel()) * e);
  }
  const MemoryRequest request{
      .weight_bytes = weight_bytes,
      .workspace_bytes = workspace_bytes(device_.max_step_tokens, device_.max_step_seqs),
      .kv_bytes_per_block = static_cast<uint64_t>(config_.num_hidden_layers * 2 * kBlockSize * config_.kv_dim()) * e,
      .block_size = kBlockSize,
      .min_blocks = (spec_.context_length + kBlockSize - 1) / kBlockSize};
  runtime_ = std::make_unique<DeviceRuntime>(request, device.gpu_memory);

  const auto start = std::chrono::steady_clock::now();
  for (Tensor* t : all_weights(weights_)) {
    if (t->defined() && !(tied && t == &weights_.lm_head)) *t = runtime_->upload_weight(*t, device.dtype);
  }
  if (tied) weights_.lm_head = weights_.embed_tokens;
  inv_freq_ = runtime_->upload_weight(inv_freq_, DType::f32);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  spdlog::info("weights on the GPU in {}: {} in {:.2f} s ({:.2f} GB/s)", dtype_name(device.dtype),
               format_bytes(weight_bytes), seconds, static_cast<double>(weight_bytes) / 1e9 / std::max(seconds, 1e-9));
}

// On the GPU the cache is the whole planned pool whatever `blocks` asks for; making a new
// cache invalidates the previous one.
KvCache LlamaModel::make_kv_cache(int64_t blocks, int64_t block_size) const {
  if (!runtime_) return CausalLM::make_kv_cache(blocks, block_size);
  GENRT_CHECK(block_size == kBlockSize, "the GPU KV cache has blocks of {} tokens, not {}", kBlockSize, block_size);
  DeviceArena& arena = runtime_->kv_arena();
  arena.reset_to(0);  // the planned pool, handed to the newest cache
  // 2 pools per layer, each rounded up to the arena's alignment: drop a block if that
  // rounding would overflow the region.
  const uint64_t block_bytes = static_cast<uint64_t>(kBlockSize * config_.kv_dim()) * dtype_size(device_.dtype);
  int64_t pool_blocks = runtime_->plan().kv_blocks;
  while (pool_blocks > 1 && 2 * static_cast<uint64_t>(config_.num_hidden_layers) *
                                    aligned(static_cast<uint64_t>(pool_blocks) * block_bytes) >
                                arena.capacity()) {
    --pool_blocks;
  }
  return KvCache(spec_.kv_cache_shape(pool_blocks, kBlockSize), arena, device_.dtype);
}

Tensor LlamaModel::forward(const ForwardBatch& batch, KvCache& cache, LogitsFor which) const {
  const auto n_tokens = static_cast<int64_t>(batch.tokens.size());
  const int64_t hidden = config_.hidden_size, heads = config_.num_attention_heads;
  const int64_t kv_heads = config_.num_key_value_heads, head_dim = config_.head_dim;
  const PagedBatch host_paged = make_paged_batch(batch, cache.shape().block_size, config_.max_position_embeddings);
  const Tensor host_rows = logit_rows(batch, which);

  std::optional<DeviceRuntime::Step> step;
  if (runtime_) {
    GENRT_CHECK(n_tokens <= device_.max_step_tokens && host_paged.seqs() <= device_.max_step_seqs &&
                    host_rows.numel() <= device_.max_step_seqs,
                "forward: a step of {} tokens, {} sequences and {} logit rows exceeds the planned {} tokens and {} "
                "sequences",
                n_tokens, host_paged.seqs(), host_rows.numel(), device_.max_step_tokens, device_.max_step_seqs);
    // The CPU embedding checks ids itself; device ids must be checked before their upload.
    check_token_ids(batch, config_.vocab_size);
    step.emplace(*runtime_);
  }
  const DType act = runtime_ ? device_.dtype : DType::f32;
  auto scratch = [&](const Shape& shape, DType dtype) {
    return runtime_ ? runtime_->scratch(shape, dtype) : Tensor::zeros(shape, dtype);
  };
  auto on_device = [&](const Tensor& host) { return runtime_ ? runtime_->upload(host) : host; };
  const PagedBatch paged{.positions = on_device(host_paged.positions),
                         .slots = on_device(host_paged.slots),
                         .query_start = on_device(host_paged.query_start),
                         .context_lens = on_device(host_paged.context_lens),
                         .block_tables = on_device(host_paged.block_tables),
                         .block_size = host_paged.block_size};
  const Tensor ids = on_device(batch_token_ids(batch));
  const Tensor row_ids = on_device(host_rows);

  Activations a{.residual = scratch({n_tokens, hidden}, act),
                .h = scratch({n_tokens, hidden}, act),
                .block_out = scratch({n_tokens, hidden}, act),
                .q = scratch({n_tokens, heads, head_dim}, act),
                .attn = scratch({n_tokens, heads, head_dim}, act),
                .k = scratch({n_tokens, kv_heads, head_dim}, act),
                .v = scratch({n_tokens, kv_heads, head_dim}, act),
                .gate = scratch({n_tokens, config_.intermediate_size}, act),
                .up = scratch({n_tokens, config_.intermediate_size}, act)};
  ops::embedding(weights_.embed_tokens, ids, a.residual);
  for (int64_t l = 0; l < config_.num_hidden_layers; ++l) {
    const LlamaLayerWeights& w = weights_.layers[l];
    if (l == 0) {
      ops::rmsnorm(a.residual, w.input_layernorm, config_.rms_norm_eps, a.h);
    } else {
      ops::add_rmsnorm(a.block_out, a.residual, w.input_layernorm, config_.rms_norm_eps, a.h);
    }
    attention_block(w, l, paged, a, cache);
    ops::add_rmsnorm(a.block_out, a.residual, w.post_attention_layernorm, config_.rms_norm_eps, a.h);
    mlp_block(w, a);
  }
  ops::add_rmsnorm(a.block_out, a.residual, weights_.norm, config_.rms_norm_eps, a.h);

  Tensor final_rows = scratch({row_ids.numel(), hidden}, act);
  ops::embedding(a.h, row_ids, final_rows);
  Tensor logits = scratch({final_rows.dim(0), config_.vocab_size}, DType::f32);
  ops::linear(final_rows, weights_.lm_head, Tensor(), logits);
  return logits;
}

void LlamaModel::attention_block(const LlamaLayerWeights& w, int64_t layer, const PagedBatch& paged, Activations& a,
                                 KvCache& cache) const {
  const int64_t n_tokens = a.h.dim(0);
  Tensor q = a.q.reshape({n_tokens, config_.q_dim()}), k = a.k.reshape({n_tokens, config_.kv_dim()});
  Tensor v = a.v.reshape({n_tokens, config_.kv_dim()});
  ops::linear(a.h, w.q_proj, w.q_bias, q);
  ops::linear(a.h, w.k_proj, w.k_bias, k);
  ops::linear(a.h, w.v_proj, w.v_bias, v);
  ops::rope_kv_write(a.q, a.k, a.v, paged, inv_freq_, config_.rope_layout, cache.keys(layer), cache.values(layer));
  ops::paged_attention(a.q, cache.keys(layer), cache.values(layer), paged,
                       1.0f / std::sqrt(static_cast<float>(config_.head_dim)), a.attn);
  ops::linear(a.attn.reshape({n_tokens, config_.q_dim()}), w.o_proj, w.o_bias, a.block_out);
}

void LlamaModel::mlp_block(const LlamaLayerWeights& w, Activations& a) const {
  ops::linear(a.h, w.gate_proj, Tensor(), a.gate);
  ops::linear(a.h, w.up_proj, Tensor(), a.up);
  ops::swiglu(a.gate, a.up, a.gate);
  ops::linear(a.gate, w.down_proj, Tensor(), a.block_out);
}

}  // namespace genrt
