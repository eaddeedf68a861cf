#include "runtime/models/dit/dit_model.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "runtime/backend/device_runtime.h"
#include "runtime/backend/diffusion_ops.h"
#include "runtime/backend/gpu_limits.h"
#include "runtime/backend/ops.h"
#include "runtime/io/json_file.h"
#include "runtime/io/weight_store.h"
#include "runtime/models/model_files.h"
#include "runtime/models/blocks/attention.h"
#include "runtime/models/blocks/mlp.h"
#include "runtime/models/blocks/timestep_features.h"
#include "runtime/models/dit/dit_embeddings.h"

namespace genrt {

namespace {

// diffusers' AdaLayerNormZero and final norm_out use eps 1e-6 whatever norm_eps says.
constexpr float kAdaNormEps = 1e-6f;

// The device buffers of a workspace, each from alloc(shape, dtype): one function for
// allocating them and for sizing the plan.
template <class Alloc>
void allocate_activations(const DitConfig& c, int64_t max_batch, DType dtype, Alloc& alloc, DitWorkspace& ws) {
  const int64_t rows = max_batch * c.tokens(), d = c.inner_dim();
  ws.patches = alloc({max_batch, c.tokens(), c.patch_dim()}, dtype);
  for (Tensor* t : {&ws.position, &ws.residual, &ws.normed, &ws.attn, &ws.branch}) *t = alloc({rows, d}, dtype);
  ws.qkv = alloc({3 * rows * d}, dtype);
  ws.ff = alloc({rows, c.ff_dim()}, dtype);
  ws.out_tokens = alloc({max_batch, c.tokens(), c.out_patch_dim()}, dtype);
  for (Tensor* t : {&ws.timestep_hidden, &ws.class_embedding, &ws.conditioning, &ws.first_conditioning}) {
    *t = alloc({max_batch, d}, dtype);
  }
  for (Tensor& m : ws.modulation) m = alloc({max_batch, d}, dtype);
  ws.timestep_features = alloc({max_batch, kDitTimestepChannels}, dtype);
  ws.class_ids = alloc({max_batch}, DType::i32);
}

}  // namespace

NamedWeights dit_named_weights(const DitConfig& c, DitWeights& w, int64_t class_table_rows) {
  const int64_t d = c.inner_dim(), f = c.ff_dim(), p = c.patch_size;
  NamedWeights list = {{"pos_embed.proj.weight", {d, c.in_channels, p, p}, &w.pos_embed_proj.weight},
                       {"pos_embed.proj.bias", {d}, &w.pos_embed_proj.bias}};
  w.transformer_blocks.resize(static_cast<size_t>(c.num_layers));
  for (int64_t l = 0; l < c.num_layers; ++l) {
    const std::string b = "transformer_blocks." + std::to_string(l) + ".";
    DitBlockWeights& B = w.transformer_blocks[l];
    DitCombinedEmbedding& emb = B.norm1.emb;
    emb.timestep_embedder.linear_1.name_weights(list, b + "norm1.emb.timestep_embedder.linear_1",
                                                kDitTimestepChannels, d, true);
    emb.timestep_embedder.linear_2.name_weights(list, b + "norm1.emb.timestep_embedder.linear_2", d, d, true);
    list.push_back({b + "norm1.emb.class_embedder.embedding_table.weight", {class_table_rows, d},
                    &emb.class_embedder_embedding_table});
    B.norm1.linear.name_weights(list, b + "norm1.linear", d, 6 * d, true);
    B.attn1.to_qkv.name_fused_weights(list, {{b + "attn1.to_q", d}, {b + "attn1.to_k", d}, {b + "attn1.to_v", d}}, d,
                                      true);
    B.attn1.to_out_0.name_weights(list, b + "attn1.to_out.0", d, d, true);
    B.ff.net_0_proj.name_weights(list, b + "ff.net.0.proj", d, f, true);
    B.ff.net_2.name_weights(list, b + "ff.net.2", f, d, true);
  }
  w.proj_out_1.name_weights(list, "proj_out_1", d, 2 * d, true);
  w.proj_out_2.name_weights(list, "proj_out_2", d, c.out_patch_dim(), true);
  return list;
}

DitModel::DitModel(DitConfig config, DitWeights weights)
    : config_(std::move(config)), weights_(std::move(weights)) {
  // The patch embedding is a Conv2d with stride = kernel: a Linear over flattened patches.
  Tensor& patch_weight = weights_.pos_embed_proj.weight;
  patch_weight = patch_weight.reshape({config_.inner_dim(), config_.patch_dim()});
}

DitModel::~DitModel() = default;
DitModel::DitModel(DitModel&&) noexcept = default;

int64_t DitModel::class_table_rows() const {
  return weights_.transformer_blocks.front().norm1.emb.class_embedder_embedding_table.dim(0);
}

bool DitModel::has_null_class() const {
  return std::all_of(weights_.transformer_blocks.begin(), weights_.transformer_blocks.end(),
                     [&](const DitBlockWeights& b) {
                       return b.norm1.emb.class_embedder_embedding_table.dim(0) > config_.num_classes;
                     });
}

MemoryRequest DitModel::memory_request(const DitDeviceOptions& o) const {
  GENRT_CHECK(o.dtype == DType::bf16 || o.dtype == DType::f16, "--dtype {}: the GPU runs models in bf16 or f16",
              dtype_name(o.dtype));
  GENRT_CHECK(o.max_batch > 0, "DiT on the GPU: max batch {} must be positive", o.max_batch);
  // A shape the kernels do not take fails here, before any weight is uploaded.
  ops::expect_gpu_attention_shape("the DiT", config_.num_attention_heads, config_.attention_head_dim);
  ops::expect_gpu_norm_dim("the DiT", config_.inner_dim());
  DitWeights listed = weights_;  // handles to the same tensors: only their names and shapes are read
  ArenaFootprint persistent;
  DitWorkspace sizing;
  allocate_activations(config_, o.max_batch, o.dtype, persistent, sizing);
  return {.name = "DiT",
          .weight_bytes = weight_footprint(dit_named_weights(config_, listed, class_table_rows()), o.dtype),
          .persistent_bytes = persistent.bytes,
          // One workspace, so one graph, at a time: a run's (the pipeline makes one per run).
          .graph_bytes = o.cuda_graphs ? DeviceRuntime::kGraphBytes : 0};
}

void DitModel::place_on(std::shared_ptr<DeviceRuntime> runtime, const DitDeviceOptions& o) {
  GENRT_CHECK(!runtime_, "the DiT is already on the GPU");
  runtime->expect_planned(memory_request(o));
  place_weights(*runtime, dit_named_weights(config_, weights_, class_table_rows()), o.dtype, "DiT");
  dtype_ = o.dtype;
  runtime_ = std::move(runtime);
  cuda_graphs_ = o.cuda_graphs;
}

DitWorkspace DitModel::make_workspace(int64_t max_batch) const {
  GENRT_CHECK(max_batch > 0, "DiT workspace: batch {} must be positive", max_batch);
  const DitConfig& c = config_;
  DitWorkspace ws;
  ws.max_batch = max_batch;
  auto allocate = [&](const Shape& shape, DType dtype) {
    return runtime_ ? runtime_->persistent(shape, dtype) : Tensor::zeros(shape, dtype);
  };
  allocate_activations(c, max_batch, dtype_, allocate, ws);
  ws.host_timestep_features = Tensor::zeros({max_batch, kDitTimestepChannels}, DType::f32);
  ws.host_class_ids = Tensor::zeros({max_batch}, DType::i32);
  // The position embedding, tiled over the batch so that the first fused add takes it as
  // its branch input.
  const int64_t per_sample = c.tokens() * c.inner_dim();
  Tensor position = runtime_ ? Tensor::zeros(ws.position.shape(), DType::f32) : ws.position;
  float* p = position.data<float>();
  sincos_2d_position_embedding(c.sample_size / c.patch_size, c.inner_dim(), p);
  for (int64_t b = 1; b < max_batch; ++b) std::copy(p, p + per_sample, p + b * per_sample);
  if (runtime_) runtime_->copy_in(position, ws.position);
  return ws;
}

void DitModel::embed_conditioning(const DitCombinedEmbedding& w, const Tensor& features,
                                  const Tensor& class_ids, DitWorkspace& ws, Tensor& conditioning) const {
  const int64_t batch = features.dim(0);
  Tensor hidden = ws.timestep_hidden.slice(0, batch);
  Tensor class_embedding = ws.class_embedding.slice(0, batch);
  w.timestep_embedder.linear_1(features, hidden);
  ops::silu(hidden, hidden);
  w.timestep_embedder.linear_2(hidden, conditioning);
  ops::embedding(w.class_embedder_embedding_table, class_ids, class_embedding);
  ops::add(conditioning, class_embedding, conditioning);
  // Every consumer (the adaLN projections) takes silu(conditioning).
  ops::silu(conditioning, conditioning);
}

void DitModel::forward(const Tensor& latents, std::span<const float> timesteps,
                       std::span<const int32_t> class_labels, DitWorkspace& ws,
                       Tensor& output) const {
  const DitConfig& c = config_;
  const int64_t batch = latents.rank() == 4 ? latents.dim(0) : 0;
  GENRT_CHECK(latents.shape() == Shape({batch, c.in_channels, c.sample_size, c.sample_size}),
              "DiT: latents {} must be [batch, {}, {}, {}]", shape_string(latents.shape()),
              c.in_channels, c.sample_size, c.sample_size);
  GENRT_CHECK(batch > 0 && batch <= ws.max_batch, "DiT: batch {} outside the workspace's 1..{}",
              batch, ws.max_batch);
  GENRT_CHECK(std::ssize(timesteps) == batch && std::ssize(class_labels) == batch,
              "DiT: {} timesteps and {} class labels for a batch of {}", timesteps.size(),
              class_labels.size(), batch);
  GENRT_CHECK(output.shape() == Shape({batch, c.out_channels, c.sample_size, c.sample_size}),
              "DiT: output {} must be [{}, {}, {}, {}]", shape_string(output.shape()), batch,
              c.out_channels, c.sample_size, c.sample_size);
  for (int32_t label : class_labels) {
    GENRT_CHECK((label >= 0 && label < c.num_classes) || (label == null_class() && has_null_class()),
                "class label {} is outside the model's {} classes (0..{})", label, c.num_classes,
                c.num_classes - 1);
  }
  std::copy(class_labels.begin(), class_labels.end(), ws.host_class_ids.data<int32_t>());
  blocks::timestep_features(timesteps, kDitTimestepChannels, {.flip_sin_to_cos = true, .downscale_freq_shift = 1},
                            ws.host_timestep_features.data<float>());
  const Tensor host_features = ws.host_timestep_features.slice(0, batch);
  const Tensor host_ids = ws.host_class_ids.slice(0, batch);
  if (!runtime_) {
    run_layers(latents, host_features, host_ids, ws, output);
    return;
  }
  const Tensor features = ws.timestep_features.slice(0, batch), class_ids = ws.class_ids.slice(0, batch);
  runtime_->upload(host_features, features);
  runtime_->upload(host_ids, class_ids);
  const auto layers = [&] { run_layers(latents, features, class_ids, ws, output); };
  if (!cuda_graphs_) {
    layers();
    return;
  }
  ws.graph.run(*runtime_,
               {static_cast<uintptr_t>(batch), reinterpret_cast<uintptr_t>(latents.raw()),
                reinterpret_cast<uintptr_t>(output.raw())},
               layers, fmt::format("the DiT step of batch {}", batch));
}

void DitModel::run_layers(const Tensor& latents, const Tensor& features, const Tensor& class_ids, DitWorkspace& ws,
                          Tensor& output) const {
  const DitConfig& c = config_;
  const int64_t batch = latents.dim(0);
  const int64_t rows = batch * c.tokens(), d = c.inner_dim();
  const blocks::AttentionHeads heads{
      .heads = c.num_attention_heads, .kv_heads = c.num_attention_heads, .head_dim = c.attention_head_dim};
  auto split_heads = [&](const Tensor& t) { return t.slice(0, rows).reshape({rows, heads.heads, heads.head_dim}); };
  blocks::AttentionBuffers attention{.parts = blocks::attention_parts(ws.qkv, 3, rows, heads),
                                     .attn = split_heads(ws.attn)};
  Tensor patches = ws.patches.slice(0, batch);
  Tensor residual = ws.residual.slice(0, rows), normed = ws.normed.slice(0, rows);
  Tensor ff = ws.ff.slice(0, rows);
  Tensor first_conditioning = ws.first_conditioning.slice(0, batch);
  Tensor conditioning = ws.conditioning.slice(0, batch);
  Tensor mod[6];
  for (int i = 0; i < 6; ++i) mod[i] = ws.modulation[i].slice(0, batch);
  enum { kShiftMsa, kScaleMsa, kGateMsa, kShiftMlp, kScaleMlp, kGateMlp };

  ops::patchify(latents, c.patch_size, patches);
  weights_.pos_embed_proj(patches.reshape({rows, c.patch_dim()}), residual);
  // Each block's first fused add takes the previous block's MLP output and gate; the first
  // block's adds the position embedding, ungated.
  Tensor branch = ws.position.slice(0, rows), gate;
  for (size_t l = 0; l < weights_.transformer_blocks.size(); ++l) {
    const DitBlockWeights& w = weights_.transformer_blocks[l];
    Tensor& cond = l == 0 ? first_conditioning : conditioning;
    embed_conditioning(w.norm1.emb, features, class_ids, ws, cond);
    auto modulation = [&](int i) { w.norm1.linear.rows(i * d, (i + 1) * d)(cond, mod[i]); };
    // Shift and scale first: the add below still reads the previous MLP gate from mod[5].
    for (int i : {kShiftMsa, kScaleMsa}) modulation(i);
    ops::modulated_layernorm(branch, gate, residual, mod[kShiftMsa], mod[kScaleMsa], kAdaNormEps, normed);
    for (int i : {kGateMsa, kShiftMlp, kScaleMlp, kGateMlp}) modulation(i);
    branch = ws.branch.slice(0, rows);
    blocks::dense_self_attention({w.attn1.to_qkv, w.attn1.to_out_0}, heads, normed, batch, attention, branch);
    ops::modulated_layernorm(branch, mod[kGateMsa], residual, mod[kShiftMlp], mod[kScaleMlp],
                             static_cast<float>(c.norm_eps), normed);
    blocks::gelu_mlp(w.ff.net_0_proj, w.ff.net_2, c.gelu, normed, ff, branch);
    gate = mod[kGateMlp];
  }
  // Final layer: modulated by block 0's conditioning (diffusers reuses that block's embedder).
  Tensor shift = mod[kShiftMsa], scale = mod[kScaleMsa];
  weights_.proj_out_1.rows(0, d)(first_conditioning, shift);
  weights_.proj_out_1.rows(d, 2 * d)(first_conditioning, scale);
  ops::modulated_layernorm(branch, gate, residual, shift, scale, kAdaNormEps, normed);
  Tensor out_tokens = ws.out_tokens.slice(0, batch);
  Tensor out_rows = out_tokens.reshape({rows, c.out_patch_dim()});
  weights_.proj_out_2(normed, out_rows);
  ops::unpatchify(out_tokens, c.patch_size, output);
}

DitModel load_dit(const std::filesystem::path& model_dir) {
  const auto dir = pipeline_part_dir(model_dir, "transformer");
  const auto config_path = dir / "config.json";
  GENRT_CHECK(std::filesystem::exists(config_path),
              "{}: no config.json (nor transformer/config.json): not a diffusers DiT folder",
              model_dir.string());
  const DitConfig c = dit_config_from_json(read_json_file(config_path), config_path.string());
  const WeightStore store = WeightStore::open_dir(dir);
  // The class tables hold the null class of guidance as an extra row, or not.
  const Tensor table = store.get("transformer_blocks.0.norm1.emb.class_embedder.embedding_table.weight");
  const int64_t class_rows = table.rank() == 2 && table.dim(0) == c.num_classes ? c.num_classes : c.num_classes + 1;
  DitWeights w;
  load_named_weights(store, dit_named_weights(c, w, class_rows));
  const int64_t d = c.inner_dim(), p = c.patch_size;
  spdlog::info("loaded DiT from {}: {} layers, width {}, {} heads, {} tokens of {}x{} patches, {:.1f}M parameters{}",
               dir.string(), c.num_layers, d, c.num_attention_heads, c.tokens(), p, p,
               c.parameter_count() / 1e6, c.random_weights ? " (RANDOM WEIGHTS)" : "");
  return DitModel(c, std::move(w));
}

}  // namespace genrt
