#include "runtime/models/dit/dit_model.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <spdlog/spdlog.h>

#include "runtime/backend/device_runtime.h"
#include "runtime/backend/diffusion_ops.h"
#include "runtime/backend/ops.h"
#include "runtime/io/json_file.h"
#include "runtime/io/weight_store.h"
#include "runtime/models/dit/dit_embeddings.h"

namespace genrt {

namespace {

// diffusers' AdaLayerNormZero and final norm_out use eps 1e-6 whatever norm_eps says.
constexpr float kAdaNormEps = 1e-6f;

// Every weight tensor, for uploading and sizing.
std::vector<Tensor*> all_weights(DitWeights& w) {
  std::vector<Tensor*> out = {&w.patch_proj, &w.patch_proj_bias, &w.out_shift, &w.out_shift_bias,
                              &w.out_scale, &w.out_scale_bias, &w.proj_out, &w.proj_out_bias};
  for (DitBlockWeights& b : w.blocks) {
    DitConditioningWeights& c = b.conditioning;
    for (Tensor* t : {&c.timestep_linear_1, &c.timestep_linear_1_bias, &c.timestep_linear_2,
                      &c.timestep_linear_2_bias, &c.class_table, &b.to_q, &b.to_q_bias, &b.to_k, &b.to_k_bias,
                      &b.to_v, &b.to_v_bias, &b.to_out, &b.to_out_bias, &b.ff_in, &b.ff_in_bias, &b.ff_out,
                      &b.ff_out_bias}) {
      out.push_back(t);
    }
    for (int i = 0; i < 6; ++i) {
      out.push_back(&b.ada_chunks[i]);
      out.push_back(&b.ada_chunk_biases[i]);
    }
  }
  return out;
}

// The device buffers of a workspace, each from alloc(shape, dtype): one function for
// allocating them and for sizing the plan.
template <class Alloc>
void allocate_activations(const DitConfig& c, int64_t max_batch, DType dtype, Alloc& alloc, DitWorkspace& ws) {
  const int64_t rows = max_batch * c.tokens(), d = c.inner_dim();
  ws.patches = alloc({max_batch, c.tokens(), c.patch_dim()}, dtype);
  for (Tensor* t : {&ws.position, &ws.residual, &ws.normed, &ws.q, &ws.k, &ws.v, &ws.attn, &ws.branch}) {
    *t = alloc({rows, d}, dtype);
  }
  ws.ff = alloc({rows, c.ff_dim()}, dtype);
  ws.out_tokens = alloc({max_batch, c.tokens(), c.out_patch_dim()}, dtype);
  for (Tensor* t : {&ws.timestep_hidden, &ws.class_embedding, &ws.conditioning, &ws.first_conditioning}) {
    *t = alloc({max_batch, d}, dtype);
  }
  for (Tensor& m : ws.modulation) m = alloc({max_batch, d}, dtype);
}

}  // namespace

DitModel::DitModel(DitConfig config, DitWeights weights)
    : config_(std::move(config)), weights_(std::move(weights)) {}

DitModel::~DitModel() = default;
DitModel::DitModel(DitModel&&) noexcept = default;

bool DitModel::has_null_class() const {
  return std::all_of(weights_.blocks.begin(), weights_.blocks.end(), [&](const DitBlockWeights& b) {
    return b.conditioning.class_table.dim(0) > config_.num_classes;
  });
}

uint64_t DitModel::workspace_bytes(int64_t max_batch) const {
  ArenaFootprint footprint;
  DitWorkspace sizing;
  allocate_activations(config_, max_batch, dtype_, footprint, sizing);
  // Each call's uploads: the timestep features and class ids.
  footprint({max_batch, kDitTimestepChannels}, dtype_);
  footprint({max_batch}, DType::i32);
  return footprint.bytes;
}

void DitModel::move_to_device(const DitDeviceOptions& o) {
  GENRT_CHECK(!runtime_, "the DiT is already on the GPU");
  GENRT_CHECK(o.dtype == DType::bf16 || o.dtype == DType::f16, "--dtype {}: the GPU runs models in bf16 or f16",
              dtype_name(o.dtype));
  GENRT_CHECK(o.max_batch > 0, "DiT on the GPU: max batch {} must be positive", o.max_batch);
  dtype_ = o.dtype;
  uint64_t weight_bytes = 0;
  for (Tensor* t : all_weights(weights_)) weight_bytes += DeviceArena::footprint(t->shape(), o.dtype);
  const uint64_t workspace = workspace_bytes(o.max_batch) + o.loop_bytes;
  runtime_ = std::make_unique<DeviceRuntime>(MemoryRequest{.weight_bytes = weight_bytes, .workspace_bytes = workspace},
                                             o.gpu_memory);
  const auto start = std::chrono::steady_clock::now();
  for (Tensor* t : all_weights(weights_)) *t = runtime_->upload_weight(*t, o.dtype);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  spdlog::info("DiT weights on the GPU in {}: {} in {:.2f} s ({:.2f} GB/s)", dtype_name(o.dtype),
               format_bytes(weight_bytes), seconds, static_cast<double>(weight_bytes) / 1e9 / std::max(seconds, 1e-9));
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

void DitModel::embed_conditioning(const DitConditioningWeights& w, const Tensor& features,
                                  const Tensor& class_ids, DitWorkspace& ws, Tensor& conditioning) const {
  const int64_t batch = features.dim(0);
  Tensor hidden = ws.timestep_hidden.slice(0, batch);
  Tensor class_embedding = ws.class_embedding.slice(0, batch);
  ops::linear(features, w.timestep_linear_1, w.timestep_linear_1_bias, hidden);
  ops::silu(hidden, hidden);
  ops::linear(hidden, w.timestep_linear_2, w.timestep_linear_2_bias, conditioning);
  ops::embedding(w.class_table, class_ids, class_embedding);
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
  timestep_features(timesteps, kDitTimestepChannels, ws.host_timestep_features.data<float>());
  const Tensor host_features = ws.host_timestep_features.slice(0, batch);
  const Tensor host_ids = ws.host_class_ids.slice(0, batch);
  const Tensor features = runtime_ ? runtime_->upload(host_features, dtype_) : host_features;
  const Tensor class_ids = runtime_ ? runtime_->upload(host_ids) : host_ids;

  const int64_t rows = batch * c.tokens();
  const int64_t heads = c.num_attention_heads, head_dim = c.attention_head_dim;
  const float attn_scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  Tensor patches = ws.patches.slice(0, batch);
  Tensor residual = ws.residual.slice(0, rows), normed = ws.normed.slice(0, rows);
  Tensor q = ws.q.slice(0, rows), k = ws.k.slice(0, rows), v = ws.v.slice(0, rows);
  Tensor attn = ws.attn.slice(0, rows), ff = ws.ff.slice(0, rows);
  Tensor first_conditioning = ws.first_conditioning.slice(0, batch);
  Tensor conditioning = ws.conditioning.slice(0, batch);
  Tensor mod[6];
  for (int i = 0; i < 6; ++i) mod[i] = ws.modulation[i].slice(0, batch);
  enum { kShiftMsa, kScaleMsa, kGateMsa, kShiftMlp, kScaleMlp, kGateMlp };
  const Shape heads_shape = {batch, c.tokens(), heads, head_dim};

  ops::patchify(latents, c.patch_size, patches);
  ops::linear(patches.reshape({rows, c.patch_dim()}), weights_.patch_proj,
              weights_.patch_proj_bias, residual);
  // Each block's first fused add takes the previous block's MLP output and gate; the first
  // block's adds the position embedding, ungated.
  Tensor branch = ws.position.slice(0, rows), gate;
  for (size_t l = 0; l < weights_.blocks.size(); ++l) {
    const DitBlockWeights& w = weights_.blocks[l];
    Tensor& cond = l == 0 ? first_conditioning : conditioning;
    embed_conditioning(w.conditioning, features, class_ids, ws, cond);
    // Shift and scale first: the add below still reads the previous MLP gate from mod[5].
    for (int i : {kShiftMsa, kScaleMsa}) ops::linear(cond, w.ada_chunks[i], w.ada_chunk_biases[i], mod[i]);
    ops::modulated_layernorm(branch, gate, residual, mod[kShiftMsa], mod[kScaleMsa], kAdaNormEps, normed);
    for (int i : {kGateMsa, kShiftMlp, kScaleMlp, kGateMlp}) {
      ops::linear(cond, w.ada_chunks[i], w.ada_chunk_biases[i], mod[i]);
    }
    ops::linear(normed, w.to_q, w.to_q_bias, q);
    ops::linear(normed, w.to_k, w.to_k_bias, k);
    ops::linear(normed, w.to_v, w.to_v_bias, v);
    Tensor attn_heads = attn.reshape(heads_shape);
    ops::dense_attention(q.reshape(heads_shape), k.reshape(heads_shape), v.reshape(heads_shape),
                         attn_scale, attn_heads);
    branch = ws.branch.slice(0, rows);
    ops::linear(attn, w.to_out, w.to_out_bias, branch);
    ops::modulated_layernorm(branch, mod[kGateMsa], residual, mod[kShiftMlp], mod[kScaleMlp],
                             static_cast<float>(c.norm_eps), normed);
    ops::linear(normed, w.ff_in, w.ff_in_bias, ff);
    ops::gelu(ff, ff, c.gelu);
    ops::linear(ff, w.ff_out, w.ff_out_bias, branch);
    gate = mod[kGateMlp];
  }
  // Final layer: modulated by block 0's conditioning (diffusers reuses that block's embedder).
  Tensor shift = mod[kShiftMsa], scale = mod[kScaleMsa];
  ops::linear(first_conditioning, weights_.out_shift, weights_.out_shift_bias, shift);
  ops::linear(first_conditioning, weights_.out_scale, weights_.out_scale_bias, scale);
  ops::modulated_layernorm(branch, gate, residual, shift, scale, kAdaNormEps, normed);
  Tensor out_tokens = ws.out_tokens.slice(0, batch);
  Tensor out_rows = out_tokens.reshape({rows, c.out_patch_dim()});
  ops::linear(normed, weights_.proj_out, weights_.proj_out_bias, out_rows);
  ops::unpatchify(out_tokens, c.patch_size, output);
}

std::filesystem::path dit_transformer_dir(const std::filesystem::path& dir) {
  const auto sub = dir / "transformer";
  return std::filesystem::exists(sub / "config.json") ? sub : dir;
}

DitModel load_dit(const std::filesystem::path& model_dir) {
  const auto dir = dit_transformer_dir(model_dir);
  const auto config_path = dir / "config.json";
  GENRT_CHECK(std::filesystem::exists(config_path),
              "{}: no config.json (nor transformer/config.json): not a diffusers DiT folder",
              model_dir.string());
  const DitConfig c = dit_config_from_json(read_json_file(config_path), config_path.string());
  const WeightStore store = WeightStore::open_dir(dir);
  auto get = [&](const std::string& name, const Shape& shape) {
    const Tensor t = store.get(name);
    GENRT_CHECK(t.shape() == shape, "tensor '{}' has shape {}, but {} implies {}", name,
                shape_string(t.shape()), config_path.string(), shape_string(shape));
    return t.to_f32();
  };
  const int64_t d = c.inner_dim(), f = c.ff_dim(), p = c.patch_size;

  DitWeights w;
  w.patch_proj = get("pos_embed.proj.weight", {d, c.in_channels, p, p}).reshape({d, c.patch_dim()});
  w.patch_proj_bias = get("pos_embed.proj.bias", {d});
  for (int64_t l = 0; l < c.num_layers; ++l) {
    const std::string b = "transformer_blocks." + std::to_string(l) + ".";
    DitBlockWeights& B = w.blocks.emplace_back();
    const std::string e = b + "norm1.emb.";
    DitConditioningWeights& C = B.conditioning;
    C.timestep_linear_1 = get(e + "timestep_embedder.linear_1.weight", {d, kDitTimestepChannels});
    C.timestep_linear_1_bias = get(e + "timestep_embedder.linear_1.bias", {d});
    C.timestep_linear_2 = get(e + "timestep_embedder.linear_2.weight", {d, d});
    C.timestep_linear_2_bias = get(e + "timestep_embedder.linear_2.bias", {d});
    const std::string table = e + "class_embedder.embedding_table.weight";
    const Tensor stored = store.get(table);
    const int64_t table_rows = stored.rank() == 2 && stored.dim(0) == c.num_classes ? c.num_classes
                                                                                   : c.num_classes + 1;
    C.class_table = get(table, {table_rows, d});
    const Tensor ada = get(b + "norm1.linear.weight", {6 * d, d});
    const Tensor ada_bias = get(b + "norm1.linear.bias", {6 * d});
    for (int i = 0; i < 6; ++i) {
      B.ada_chunks[i] = ada.slice(i * d, (i + 1) * d);
      B.ada_chunk_biases[i] = ada_bias.slice(i * d, (i + 1) * d);
    }
    const std::string a = b + "attn1.";
    B.to_q = get(a + "to_q.weight", {d, d});
    B.to_q_bias = get(a + "to_q.bias", {d});
    B.to_k = get(a + "to_k.weight", {d, d});
    B.to_k_bias = get(a + "to_k.bias", {d});
    B.to_v = get(a + "to_v.weight", {d, d});
    B.to_v_bias = get(a + "to_v.bias", {d});
    B.to_out = get(a + "to_out.0.weight", {d, d});
    B.to_out_bias = get(a + "to_out.0.bias", {d});
    B.ff_in = get(b + "ff.net.0.proj.weight", {f, d});
    B.ff_in_bias = get(b + "ff.net.0.proj.bias", {f});
    B.ff_out = get(b + "ff.net.2.weight", {d, f});
    B.ff_out_bias = get(b + "ff.net.2.bias", {d});
  }
  const Tensor proj_out_1 = get("proj_out_1.weight", {2 * d, d});
  const Tensor proj_out_1_bias = get("proj_out_1.bias", {2 * d});
  w.out_shift = proj_out_1.slice(0, d);
  w.out_shift_bias = proj_out_1_bias.slice(0, d);
  w.out_scale = proj_out_1.slice(d, 2 * d);
  w.out_scale_bias = proj_out_1_bias.slice(d, 2 * d);
  w.proj_out = get("proj_out_2.weight", {c.out_patch_dim(), d});
  w.proj_out_bias = get("proj_out_2.bias", {c.out_patch_dim()});
  spdlog::info("loaded DiT from {}: {} layers, width {}, {} heads, {} tokens of {}x{} patches, {:.1f}M parameters{}",
               dir.string(), c.num_layers, d, c.num_attention_heads, c.tokens(), p, p,
               c.parameter_count() / 1e6, c.random_weights ? " (RANDOM WEIGHTS)" : "");
  return DitModel(c, std::move(w));
}

}  // namespace genrt
