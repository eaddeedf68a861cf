#include "runtime/models/clip/clip_text_model.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "runtime/backend/device_runtime.h"
#include "runtime/backend/gpu_limits.h"
#include "runtime/backend/ops.h"
#include "runtime/io/json_file.h"
#include "runtime/io/weight_store.h"
#include "runtime/models/model_files.h"
#include "runtime/memory/device_arena.h"
#include "runtime/models/blocks/attention.h"
#include "runtime/models/blocks/mlp.h"

namespace genrt {

namespace {

blocks::AttentionHeads attention_heads(const ClipTextConfig& c) {
  return {.heads = c.num_attention_heads, .kv_heads = c.num_attention_heads, .head_dim = c.head_dim()};
}

// The buffers of a workspace for max_batch prompts, each from alloc(shape, dtype): one
// function for allocating them and for sizing the plan.
template <class Alloc>
void allocate_activations(const ClipTextConfig& c, int64_t max_batch, DType dtype, Alloc& alloc,
                          ClipTextWorkspace& ws) {
  const int64_t rows = max_batch * c.max_position_embeddings, d = c.hidden_size;
  for (Tensor* t : {&ws.residual, &ws.normed, &ws.branch, &ws.hidden_state}) *t = alloc({rows, d}, dtype);
  ws.qkv = alloc({3 * rows * d}, dtype);
  ws.attn = alloc({rows, c.num_attention_heads, c.head_dim()}, dtype);
  ws.fc = alloc({rows, c.intermediate_size}, dtype);
  ws.penultimate = alloc({rows, d}, dtype);
  if (c.with_projection()) ws.pooled = alloc({max_batch, c.projection_dim}, dtype);
}

// Each forward's uploads: the ids, and the PagedBatch of samples_as_blocks (positions,
// slots, query starts, context lengths, block table).
template <class Alloc>
void allocate_uploads(const ClipTextConfig& c, int64_t max_batch, Alloc& alloc) {
  const int64_t rows = max_batch * c.max_position_embeddings;
  for (const Shape& shape : {Shape{rows}, Shape{rows}, Shape{rows}, Shape{max_batch + 1}, Shape{max_batch},
                             Shape{max_batch, 1}}) {
    alloc(shape, DType::i32);
  }
}

}  // namespace

NamedWeights clip_text_named_weights(const ClipTextConfig& c, ClipTextWeights& w) {
  const int64_t d = c.hidden_size, f = c.intermediate_size;
  NamedWeights list = {{"embeddings.token_embedding.weight", {c.vocab_size, d}, &w.embeddings_token_embedding},
                       {"embeddings.position_embedding.weight", {c.max_position_embeddings, d},
                        &w.embeddings_position_embedding}};
  w.encoder_layers.resize(static_cast<size_t>(c.num_hidden_layers));
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = "encoder.layers." + std::to_string(l) + ".";
    ClipEncoderLayerWeights& L = w.encoder_layers[l];
    L.layer_norm1.name_weights(list, p + "layer_norm1", d);
    L.self_attn.qkv_proj.name_fused_weights(
        list, {{p + "self_attn.q_proj", d}, {p + "self_attn.k_proj", d}, {p + "self_attn.v_proj", d}}, d, true);
    L.self_attn.out_proj.name_weights(list, p + "self_attn.out_proj", d, d, true);
    L.layer_norm2.name_weights(list, p + "layer_norm2", d);
    L.mlp.fc1.name_weights(list, p + "mlp.fc1", d, f, true);
    L.mlp.fc2.name_weights(list, p + "mlp.fc2", f, d, true);
  }
  w.final_layer_norm.name_weights(list, "final_layer_norm", d);
  if (c.with_projection()) w.text_projection.name_weights(list, "text_projection", d, c.projection_dim, false);
  return list;
}

ClipTextModel::ClipTextModel(ClipTextConfig config, ClipTextWeights weights)
    : config_(std::move(config)), weights_(std::move(weights)) {}

ClipTextModel::~ClipTextModel() = default;
ClipTextModel::ClipTextModel(ClipTextModel&&) noexcept = default;

MemoryRequest ClipTextModel::memory_request(const ClipTextDeviceOptions& o) const {
  GENRT_CHECK(o.dtype == DType::bf16 || o.dtype == DType::f16, "--dtype {}: the GPU runs models in bf16 or f16",
              dtype_name(o.dtype));
  GENRT_CHECK(o.max_batch > 0, "CLIP text encoder on the GPU: max batch {} must be positive", o.max_batch);
  // A shape the kernels do not take fails here, before any weight is uploaded.
  ops::expect_gpu_attention_shape("the CLIP text encoder", config_.num_attention_heads, config_.head_dim());
  ops::expect_gpu_norm_dim("the CLIP text encoder", config_.hidden_size);
  ClipTextWeights listed = weights_;  // handles to the same tensors: only their names and shapes are read
  ArenaFootprint persistent, uploads;
  ClipTextWorkspace sizing;
  allocate_activations(config_, o.max_batch, o.dtype, persistent, sizing);
  allocate_uploads(config_, o.max_batch, uploads);
  return {.name = "CLIP text encoder",
          .weight_bytes = weight_footprint(clip_text_named_weights(config_, listed), o.dtype),
          .persistent_bytes = persistent.bytes,
          .workspace_bytes = uploads.bytes,
          .step_upload_bytes = uploads.bytes};
}

void ClipTextModel::place_on(std::shared_ptr<DeviceRuntime> runtime, const ClipTextDeviceOptions& o) {
  GENRT_CHECK(!runtime_, "the CLIP text encoder is already on the GPU");
  runtime->expect_planned(memory_request(o));
  place_weights(*runtime, clip_text_named_weights(config_, weights_), o.dtype, "CLIP text encoder");
  dtype_ = o.dtype;
  runtime_ = std::move(runtime);
}

ClipTextWorkspace ClipTextModel::make_workspace(int64_t max_batch) const {
  GENRT_CHECK(max_batch > 0, "CLIP text encoder workspace: batch {} must be positive", max_batch);
  ClipTextWorkspace ws;
  ws.max_batch = max_batch;
  auto allocate = [&](const Shape& shape, DType dtype) {
    return runtime_ ? runtime_->persistent(shape, dtype) : Tensor::zeros(shape, dtype);
  };
  allocate_activations(config_, max_batch, dtype_, allocate, ws);
  return ws;
}

struct ClipTextModel::Pass {
  int64_t batch = 0, tokens = 0, rows = 0;
  PagedBatch paged;
  blocks::AttentionBuffers attention;
  Tensor residual, normed, branch, fc, hidden_state;
};

ClipTextModel::Pass ClipTextModel::start(const Tensor& input_ids, int64_t clip_skip, ClipTextWorkspace& ws) const {
  const ClipTextConfig& c = config_;
  GENRT_CHECK(input_ids.rank() == 2 && input_ids.dtype() == DType::i32 && input_ids.device() == Device::cpu,
              "CLIP text encoder: input_ids must be [batch, tokens] i32 on the host, got {} {}",
              shape_string(input_ids.shape()), dtype_name(input_ids.dtype()));
  const int64_t batch = input_ids.dim(0), tokens = input_ids.dim(1), rows = batch * tokens;
  GENRT_CHECK(batch > 0 && batch <= ws.max_batch, "CLIP text encoder: batch {} outside the workspace's 1..{}", batch,
              ws.max_batch);
  GENRT_CHECK(tokens > 0 && tokens <= c.max_position_embeddings,
              "CLIP text encoder: {} tokens, but the model has {} positions", tokens, c.max_position_embeddings);
  GENRT_CHECK(clip_skip >= 0 && clip_skip < c.num_hidden_layers,
              "CLIP text encoder: clip skip {} must leave at least one of its {} layers", clip_skip,
              c.num_hidden_layers);
  for (int32_t id : input_ids.span<int32_t>()) {
    GENRT_CHECK(id >= 0 && id < c.vocab_size, "CLIP text encoder: token id {} is outside its vocabulary of {}", id,
                c.vocab_size);
  }
  const Tensor host_ids = input_ids.reshape({rows});
  const PagedBatch host_batch = blocks::samples_as_blocks(batch, tokens);
  auto on_device = [&](const Tensor& host) { return runtime_ ? runtime_->upload(host) : host; };
  const Tensor ids = on_device(host_ids);
  const blocks::AttentionHeads heads = attention_heads(c);
  Pass pass{.batch = batch,
            .tokens = tokens,
            .rows = rows,
            .paged = {.positions = on_device(host_batch.positions),
                      .slots = on_device(host_batch.slots),
                      .query_start = on_device(host_batch.query_start),
                      .context_lens = on_device(host_batch.context_lens),
                      .block_tables = on_device(host_batch.block_tables),
                      .block_size = host_batch.block_size,
                      .max_query_len = host_batch.max_query_len,
                      .max_context_len = host_batch.max_context_len},
            .attention = {.parts = blocks::attention_parts(ws.qkv, 3, rows, heads), .attn = ws.attn.slice(0, rows)},
            .residual = ws.residual.slice(0, rows),
            .normed = ws.normed.slice(0, rows),
            .branch = ws.branch.slice(0, rows),
            .fc = ws.fc.slice(0, rows),
            .hidden_state = ws.hidden_state.slice(0, rows)};
  // residual = token + position embeddings, added by the first fused add+norm.
  ops::embedding(weights_.embeddings_token_embedding, ids, pass.residual);
  ops::embedding(weights_.embeddings_position_embedding, pass.paged.positions, pass.branch);
  return pass;
}

void ClipTextModel::run_layers(Pass& p, int64_t from, int64_t to) const {
  const ClipTextConfig& c = config_;
  const blocks::AttentionHeads heads = attention_heads(c);
  const auto eps = static_cast<float>(c.layer_norm_eps);
  for (int64_t l = from; l < to; ++l) {
    const ClipEncoderLayerWeights& w = weights_.encoder_layers[l];
    ops::add_layernorm(p.branch, p.residual, w.layer_norm1.weight, w.layer_norm1.bias, eps, p.normed);
    blocks::causal_self_attention({w.self_attn.qkv_proj, w.self_attn.out_proj}, heads, p.normed, p.paged, p.attention,
                                  p.branch);
    ops::add_layernorm(p.branch, p.residual, w.layer_norm2.weight, w.layer_norm2.bias, eps, p.normed);
    blocks::gelu_mlp(w.mlp.fc1, w.mlp.fc2, c.hidden_act, p.normed, p.fc, p.branch);
  }
}

void ClipTextModel::final_norm(Pass& p) const {
  ops::add_layernorm(p.branch, p.residual, weights_.final_layer_norm.weight, weights_.final_layer_norm.bias,
                     static_cast<float>(config_.layer_norm_eps), p.hidden_state);
}

Tensor ClipTextModel::forward(const Tensor& input_ids, int64_t clip_skip, ClipTextWorkspace& ws) const {
  Pass pass = start(input_ids, clip_skip, ws);
  run_layers(pass, 0, config_.num_hidden_layers - clip_skip);
  final_norm(pass);
  return pass.hidden_state.reshape({pass.batch, pass.tokens, config_.hidden_size});
}

ClipSdxlConditioning ClipTextModel::sdxl_conditioning(const Tensor& input_ids, int64_t clip_skip,
                                                      ClipTextWorkspace& ws) const {
  const ClipTextConfig& c = config_;
  Pass pass = start(input_ids, clip_skip, ws);
  // hidden_states[-(2 + clip_skip)] of the num_hidden_layers + 1 is the state after
  // num_hidden_layers - 1 - clip_skip layers: residual + the last layer's branch.
  const int64_t layers = c.num_hidden_layers - 1 - clip_skip;
  run_layers(pass, 0, layers);
  Tensor penultimate = ws.penultimate.slice(0, pass.rows);
  ops::add(pass.residual, pass.branch, penultimate);
  ClipSdxlConditioning out{.hidden = penultimate.reshape({pass.batch, pass.tokens, c.hidden_size})};
  if (!c.with_projection()) return out;

  run_layers(pass, layers, c.num_hidden_layers);
  final_norm(pass);
  out.pooled = ws.pooled.slice(0, pass.batch);
  for (int64_t b = 0; b < pass.batch; ++b) {
    const int64_t row = b * pass.tokens +
                        pooled_token_position(input_ids.slice(b, b + 1).span<int32_t>(), c.eos_token_id);
    Tensor pooled = out.pooled.slice(b, b + 1);
    weights_.text_projection(pass.hidden_state.slice(row, row + 1), pooled);
  }
  return out;
}

int64_t pooled_token_position(std::span<const int32_t> ids, int64_t eos_token_id) {
  if (ids.empty()) return 0;
  if (eos_token_id == 2) return std::max_element(ids.begin(), ids.end()) - ids.begin();
  const auto eos = std::find(ids.begin(), ids.end(), eos_token_id);
  return eos == ids.end() ? 0 : eos - ids.begin();
}

ClipTextModel load_clip_text_model(const std::filesystem::path& model_dir) {
  const auto dir = pipeline_part_dir(model_dir, "text_encoder");
  const auto config_path = dir / "config.json";
  GENRT_CHECK(std::filesystem::exists(config_path),
              "{}: no config.json (nor text_encoder/config.json): not a CLIP text encoder folder", model_dir.string());
  const ClipTextConfig c = clip_text_config_from_json(read_json_file(config_path), config_path.string());
  const WeightStore store = WeightStore::open_dir(dir);
  ClipTextWeights w;
  const char* prefix = store.contains("text_model.embeddings.token_embedding.weight") ? "text_model." : "";
  NamedWeights text_model = clip_text_named_weights(c, w), projection;
  if (c.with_projection()) {  // a sibling of text_model in the checkpoint: never prefixed
    projection.push_back(text_model.back());
    text_model.pop_back();
  }
  load_named_weights(store, text_model, prefix);
  load_named_weights(store, projection);
  spdlog::info("loaded CLIP text encoder from {}: {} layers, width {}, {} heads, {} positions, {:.1f}M parameters",
               dir.string(), c.num_hidden_layers, c.hidden_size, c.num_attention_heads, c.max_position_embeddings,
               c.parameter_count() / 1e6);
  return ClipTextModel(c, std::move(w));
}

}  // namespace genrt
