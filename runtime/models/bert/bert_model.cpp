#include "runtime/models/bert/bert_model.h"

#include <algorithm>

#include "runtime/backend/device_runtime.h"
#include "runtime/backend/gpu_limits.h"
#include "runtime/backend/ops.h"
#include "runtime/io/json_file.h"
#include "runtime/io/weight_store.h"
#include "runtime/memory/device_arena.h"
#include "runtime/models/blocks/attention.h"
#include "runtime/models/blocks/mlp.h"
#include "runtime/models/placement.h"

namespace genrt {

NamedWeights bert_named_weights(const BertConfig& c, BertWeights& w, const std::string& prefix) {
  const int64_t h = c.hidden_size;
  const std::string e = prefix + "embeddings.";
  NamedWeights list = {
      {e + "word_embeddings.weight", {c.vocab_size, h}, &w.embeddings.word_embeddings},
      {e + "position_embeddings.weight", {c.max_position_embeddings, h}, &w.embeddings.position_embeddings},
      {e + "token_type_embeddings.weight", {c.type_vocab_size, h}, &w.embeddings.token_type_embeddings}};
  w.embeddings.LayerNorm.name_weights(list, e + "LayerNorm", h);
  w.layer.resize(static_cast<size_t>(c.num_hidden_layers));
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = prefix + "encoder.layer." + std::to_string(l) + ".";
    BertLayerWeights& L = w.layer[l];
    L.attention.self.query_key_value.name_fused_weights(
        list, {{p + "attention.self.query", h}, {p + "attention.self.key", h}, {p + "attention.self.value", h}}, h, true);
    L.attention.output.dense.name_weights(list, p + "attention.output.dense", h, h, true);
    L.attention.output.LayerNorm.name_weights(list, p + "attention.output.LayerNorm", h);
    L.intermediate_dense.name_weights(list, p + "intermediate.dense", h, c.intermediate_size, true);
    L.output.dense.name_weights(list, p + "output.dense", c.intermediate_size, h, true);
    L.output.LayerNorm.name_weights(list, p + "output.LayerNorm", h);
  }
  if (c.has_mlm_head()) {
    const bool roberta = c.is_roberta();
    const std::string head = roberta ? "lm_head." : "cls.predictions.";
    w.mlm_head.dense.name_weights(list, head + (roberta ? "dense" : "transform.dense"), h, h, true);
    w.mlm_head.layer_norm.name_weights(list, head + (roberta ? "layer_norm" : "transform.LayerNorm"), h);
    list.push_back({head + "bias", {c.vocab_size}, &w.mlm_head.bias});
  }
  return list;
}

// The buffers of one sequence's forward.
struct BertModel::Activations {
  Tensor ids, positions, types;  // [tokens] i32
  Tensor x, y, block_out;        // [tokens, hidden]: the hidden states alternate between x and y
  blocks::AttentionBuffers attention;
  Tensor inner;                  // [tokens, intermediate]
  Tensor logits;                 // [tokens, vocab] f32, with the MLM head (one sequence: at most a context)
};

template <class Alloc>
BertModel::Activations BertModel::allocate_activations(int64_t t, bool head, DType dtype, Alloc& alloc) const {
  const BertConfig& c = config_;
  return {.ids = alloc({t}, DType::i32),
          .positions = alloc({t}, DType::i32),
          .types = alloc({t}, DType::i32),
          .x = alloc({t, c.hidden_size}, dtype),
          .y = alloc({t, c.hidden_size}, dtype),
          .block_out = alloc({t, c.hidden_size}, dtype),
          .attention = blocks::allocate_attention_buffers(
              t, {.heads = c.num_attention_heads, .kv_heads = c.num_attention_heads, .head_dim = c.head_dim()},
              dtype, alloc),
          .inner = alloc({t, c.intermediate_size}, dtype),
          .logits = head ? alloc({std::min(t, c.context_length()), c.vocab_size}, DType::f32) : Tensor()};
}

BertModel::BertModel(BertConfig config, BertWeights weights, std::string encoder_prefix)
    : config_(std::move(config)), weights_(std::move(weights)), encoder_prefix_(std::move(encoder_prefix)) {}

BertModel::~BertModel() = default;
BertModel::BertModel(BertModel&&) noexcept = default;

int64_t BertModel::step_tokens(const DeviceOptions& options) const {
  const int64_t tokens = options.max_step_tokens > 0 ? options.max_step_tokens : kDefaultStepTokens;
  return std::max(tokens, config_.context_length());
}

int64_t BertModel::step_tokens() const { return runtime_ ? step_tokens(options_) : config_.context_length(); }

MemoryRequest BertModel::memory_request(const DeviceOptions& o) const {
  GENRT_CHECK(o.dtype == DType::bf16 || o.dtype == DType::f16, "--dtype {}: the GPU runs models in bf16 or f16",
              dtype_name(o.dtype));
  ops::expect_gpu_attention_shape(config_.architecture.c_str(), config_.num_attention_heads, config_.head_dim());
  ops::expect_gpu_norm_dim(config_.architecture.c_str(), config_.hidden_size);
  BertWeights listed = weights_;  // handles to the same tensors: only their names and shapes are read
  ArenaFootprint workspace;
  const int64_t tokens = step_tokens(o);
  allocate_activations(tokens, config_.has_mlm_head(), o.dtype, workspace);
  return {.name = config_.architecture,
          .weight_bytes = weight_footprint(bert_named_weights(config_, listed, encoder_prefix_), o.dtype),
          .workspace_bytes = workspace.bytes,
          .step_upload_bytes = static_cast<uint64_t>(3 * tokens) * sizeof(int32_t)};  // ids, positions, types
}

void BertModel::place_on(std::shared_ptr<DeviceRuntime> runtime, const DeviceOptions& options) {
  GENRT_CHECK(!runtime_, "the {} is already on the GPU", config_.architecture);
  runtime->expect_planned(memory_request(options));
  place_weights(*runtime, bert_named_weights(config_, weights_, encoder_prefix_), options.dtype,
                config_.architecture);
  runtime_ = std::move(runtime);
  options_ = options;
}

Tensor BertModel::encode(std::span<const int32_t> ids) const { return forward(ids, 1, false); }

std::vector<Tensor> BertModel::encode_batch(std::span<const std::vector<int32_t>> sequences) const {
  // Indices by length; each run of one length goes in batches of at most step_tokens().
  std::vector<size_t> order(sequences.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return sequences[a].size() < sequences[b].size(); });
  std::vector<Tensor> out(sequences.size());
  std::vector<int32_t> ids;
  for (size_t first = 0; first < order.size();) {
    const auto length = static_cast<int64_t>(sequences[order[first]].size());
    GENRT_CHECK(length > 0, "{}: input {} is empty", config_.architecture, order[first]);
    const int64_t fits = std::max<int64_t>(1, step_tokens() / length);
    size_t last = first;
    ids.clear();
    while (last < order.size() && static_cast<int64_t>(sequences[order[last]].size()) == length &&
           static_cast<int64_t>(last - first) < fits) {
      ids.insert(ids.end(), sequences[order[last]].begin(), sequences[order[last]].end());
      ++last;
    }
    const Tensor hidden = forward(ids, static_cast<int64_t>(last - first), false);
    for (size_t i = first; i < last; ++i) {
      const auto row = static_cast<int64_t>(i - first) * length;
      out[order[i]] = hidden.slice(row, row + length);
    }
    first = last;
  }
  return out;
}

Tensor BertModel::mlm_logits(std::span<const int32_t> ids) const {
  GENRT_CHECK(config_.has_mlm_head(), "{} has no masked-LM head (fill-mask needs a *ForMaskedLM checkpoint)",
              config_.architecture);
  return forward(ids, 1, true);
}

Tensor BertModel::forward(std::span<const int32_t> ids, int64_t batch, bool head) const {
  const BertConfig& c = config_;
  const auto t = static_cast<int64_t>(ids.size());
  const int64_t length = t / batch;
  GENRT_CHECK(t > 0, "{}: the input is empty", c.architecture);
  GENRT_CHECK(length <= c.context_length(), "the input has {} tokens, but the model's context is {} tokens", length,
              c.context_length());
  GENRT_CHECK(t <= step_tokens(), "{} tokens in one forward, over the {} its workspace was planned for", t,
              step_tokens());
  Tensor host_ids = Tensor::zeros({t}, DType::i32), host_positions = Tensor::zeros({t}, DType::i32);
  for (int64_t i = 0; i < t; ++i) {
    GENRT_CHECK(ids[i] >= 0 && ids[i] < c.vocab_size, "token id {} is outside the vocabulary [0, {})", ids[i],
                c.vocab_size);
    host_ids.data<int32_t>()[i] = ids[i];
    host_positions.data<int32_t>()[i] = static_cast<int32_t>(c.position_offset + i % length);
  }
  const Tensor host_types = Tensor::zeros({t}, DType::i32);

  const auto step = step_on(runtime_.get());
  auto alloc = [&](const Shape& shape, DType dtype) {
    return runtime_ ? runtime_->scratch(shape, dtype) : Tensor::zeros(shape, dtype);
  };
  Activations a = allocate_activations(t, head, runtime_ ? options_.dtype : DType::f32, alloc);
  if (runtime_) {
    runtime_->upload(host_ids, a.ids);
    runtime_->upload(host_positions, a.positions);
    runtime_->upload(host_types, a.types);
  } else {
    a.ids = host_ids;
    a.positions = host_positions;
    a.types = host_types;
  }
  const auto eps = static_cast<float>(c.layer_norm_eps);
  const blocks::AttentionHeads heads{
      .heads = c.num_attention_heads, .kv_heads = c.num_attention_heads, .head_dim = c.head_dim()};

  // x = LayerNorm(word + position + token type)
  const BertEmbeddings& emb = weights_.embeddings;
  ops::embedding(emb.word_embeddings, a.ids, a.y);
  ops::embedding(emb.position_embeddings, a.positions, a.block_out);
  ops::add(a.block_out, a.y, a.y);
  ops::embedding(emb.token_type_embeddings, a.types, a.block_out);
  ops::add_layernorm(a.block_out, a.y, emb.LayerNorm.weight, emb.LayerNorm.bias, eps, a.x);
  for (const BertLayerWeights& w : weights_.layer) {
    blocks::dense_self_attention({w.attention.self.query_key_value, w.attention.output.dense}, heads, a.x, batch,
                                 a.attention, a.block_out);
    const blocks::LayerNorm& ln1 = w.attention.output.LayerNorm;
    ops::add_layernorm(a.block_out, a.x, ln1.weight, ln1.bias, eps, a.y);  // y = LN(x + attention)
    blocks::gelu_mlp(w.intermediate_dense, w.output.dense, c.hidden_act, a.y, a.inner, a.block_out);
    const blocks::LayerNorm& ln2 = w.output.LayerNorm;
    ops::add_layernorm(a.block_out, a.y, ln2.weight, ln2.bias, eps, a.x);  // x = LN(y + MLP)
  }
  if (!head) return runtime_ ? runtime_->download_f32(a.x) : a.x;

  const BertMlmHead& m = weights_.mlm_head;
  m.dense(a.x, a.y);
  // BERT's transform uses hidden_act; RoBERTa's lm_head always the exact GELU.
  ops::gelu(a.y, a.y, c.is_roberta() ? ref::Activation::gelu_erf : c.hidden_act);
  ops::layernorm(a.y, m.layer_norm.weight, m.layer_norm.bias, eps, a.block_out);
  ops::linear(a.block_out, emb.word_embeddings, m.bias, a.logits);
  return runtime_ ? runtime_->download_f32(a.logits) : a.logits;
}

BertModel load_bert(const std::filesystem::path& dir, const DeviceOptions& device) {
  const auto config_path = dir / "config.json";
  const BertConfig c = bert_config_from_hf(read_json_file(config_path), config_path.string());
  const WeightStore store = WeightStore::open_dir(dir);
  const std::string base = c.is_roberta() ? "roberta." : "bert.";
  const std::string prefix = store.contains(base + "embeddings.word_embeddings.weight") ? base : "";
  BertWeights w;
  load_named_weights(store, bert_named_weights(c, w, prefix));
  BertModel model(c, std::move(w), prefix);
  if (device.device == Device::cuda) place_alone(model, device);
  return model;
}

}  // namespace genrt
