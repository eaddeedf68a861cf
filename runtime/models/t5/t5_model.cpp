#include "runtime/models/t5/t5_model.h"

#include <cmath>

#include "runtime/io/json_file.h"
#include "runtime/io/weight_store.h"

namespace genrt {

namespace {

// The q, k and v (or k and v) parts of one of a block's attentions, fused in that order.
std::vector<FusedPart> attention_parts(const std::string& prefix, const char* const* names, size_t n, int64_t inner) {
  std::vector<FusedPart> parts;
  for (size_t i = 0; i < n; ++i) parts.push_back({prefix + names[i], inner});
  return parts;
}

void name_feed_forward(NamedWeights& list, const T5Config& c, const std::string& prefix, T5FeedForward& ff) {
  if (c.gated) {
    ff.wi.name_fused_weights(list, {{prefix + "wi_0", c.d_ff}, {prefix + "wi_1", c.d_ff}}, c.d_model, false);
  } else {
    ff.wi.name_weights(list, prefix + "wi", c.d_model, c.d_ff, false);
  }
  ff.wo.name_weights(list, prefix + "wo", c.d_ff, c.d_model, false);
}

constexpr const char* kQkv[] = {"q", "k", "v"};
constexpr const char* kKv[] = {"k", "v"};

// A step's sequences over a list of tokens, as make_paged_batch reads them: chunk s covers
// tokens [first, first + n) at positions [start, start + n) of `blocks`.
struct Chunk {
  int64_t n = 0, start = 0;
  const BlockTable* blocks = nullptr;
};
PagedBatch paged_batch(const std::vector<Chunk>& chunks, int64_t block_size, int64_t context) {
  ForwardBatch batch;
  for (const Chunk& c : chunks) {
    batch.sequences.push_back({.first_token = static_cast<int64_t>(batch.tokens.size()),
                               .n_tokens = c.n,
                               .start_pos = c.start,
                               .blocks = c.blocks,
                               .prompt_tokens = 0});
    batch.tokens.resize(batch.tokens.size() + static_cast<size_t>(c.n));
  }
  return make_paged_batch(batch, block_size, context);
}

// [tokens, heads * d_kv] as [tokens, heads, d_kv], and back.
Tensor by_head(const Tensor& t, int64_t heads) { return t.reshape({t.dim(0), heads, t.dim(1) / heads}); }
Tensor rows_of(const Tensor& t) { return t.reshape({t.dim(0), t.dim(1) * t.dim(2)}); }

}  // namespace

NamedWeights t5_named_weights(const T5Config& c, T5Weights& w) {
  const int64_t d = c.d_model, inner = c.inner_dim();
  NamedWeights list = {{"shared.weight", {c.vocab_size, d}, &w.shared},
                       {"encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
                        {c.relative_attention_num_buckets, c.num_heads}, &w.encoder_bias},
                       {"decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
                        {c.relative_attention_num_buckets, c.num_heads}, &w.decoder_bias}};
  if (!c.tie_word_embeddings) list.push_back({"lm_head.weight", {c.vocab_size, d}, &w.lm_head});
  w.encoder.resize(static_cast<size_t>(c.num_layers));
  for (int64_t b = 0; b < c.num_layers; ++b) {
    const std::string p = "encoder.block." + std::to_string(b) + ".layer.";
    T5EncoderBlock& B = w.encoder[static_cast<size_t>(b)];
    B.attention_norm.name_weights(list, p + "0.layer_norm", d);
    B.qkv.name_fused_weights(list, attention_parts(p + "0.SelfAttention.", kQkv, 3, inner), d, false);
    B.o.name_weights(list, p + "0.SelfAttention.o", inner, d, false);
    B.ff_norm.name_weights(list, p + "1.layer_norm", d);
    name_feed_forward(list, c, p + "1.DenseReluDense.", B.ff);
  }
  w.encoder_norm.name_weights(list, "encoder.final_layer_norm", d);
  w.decoder.resize(static_cast<size_t>(c.num_decoder_layers));
  for (int64_t b = 0; b < c.num_decoder_layers; ++b) {
    const std::string p = "decoder.block." + std::to_string(b) + ".layer.";
    T5DecoderBlock& B = w.decoder[static_cast<size_t>(b)];
    B.self_norm.name_weights(list, p + "0.layer_norm", d);
    B.self_qkv.name_fused_weights(list, attention_parts(p + "0.SelfAttention.", kQkv, 3, inner), d, false);
    B.self_o.name_weights(list, p + "0.SelfAttention.o", inner, d, false);
    B.cross_norm.name_weights(list, p + "1.layer_norm", d);
    B.cross_q.name_weights(list, p + "1.EncDecAttention.q", d, inner, false);
    B.cross_kv.name_fused_weights(list, attention_parts(p + "1.EncDecAttention.", kKv, 2, inner), d, false);
    B.cross_o.name_weights(list, p + "1.EncDecAttention.o", inner, d, false);
    B.ff_norm.name_weights(list, p + "2.layer_norm", d);
    name_feed_forward(list, c, p + "2.DenseReluDense.", B.ff);
  }
  w.decoder_norm.name_weights(list, "decoder.final_layer_norm", d);
  return list;
}

T5Model::T5Model(T5Config config, T5Weights weights)
    : config_(std::move(config)), spec_(config_.spec()), weights_(std::move(weights)) {}

KvCache T5Model::make_kv_cache(int64_t blocks, int64_t block_size) const {
  return KvCache(spec_.kv_cache_shape(blocks, block_size), Device::cpu);
}

MemoryRequest T5Model::memory_request(const DeviceOptions&) const {
  fail("T5 runs on the CPU only for now (its relative position bias has no GPU kernel yet): use --device cpu");
}

void T5Model::place_on(std::shared_ptr<DeviceRuntime>, const DeviceOptions& options) { memory_request(options); }

void T5Model::feed_forward(const T5FeedForward& ff, const Tensor& x, Tensor& out) const {
  const int64_t tokens = x.dim(0), d_ff = config_.d_ff;
  Tensor inner = Tensor::zeros({tokens, config_.gated ? 2 * d_ff : d_ff}, DType::f32);
  ff.wi(x, inner);
  Tensor act = Tensor::zeros({tokens, d_ff}, DType::f32);
  if (config_.gated) {
    ops::gated_gelu(inner, act);
  } else {
    ops::relu(inner, act);
  }
  ff.wo(act, out);
}

Tensor T5Model::encode(std::span<const int32_t> ids) const {
  const T5Config& c = config_;
  const auto n = static_cast<int64_t>(ids.size());
  const int64_t inner = c.inner_dim();
  const auto eps = static_cast<float>(c.layer_norm_epsilon);
  Tensor id_tensor = Tensor::zeros({n}, DType::i32);
  std::copy(ids.begin(), ids.end(), id_tensor.data<int32_t>());
  Tensor x = Tensor::zeros({n, c.d_model}, DType::f32), h = Tensor::zeros(x.shape(), DType::f32);
  Tensor out = Tensor::zeros(x.shape(), DType::f32);
  ops::embedding(weights_.shared, id_tensor, x);
  Tensor q = Tensor::zeros({1, n, c.num_heads, c.d_kv}, DType::f32), k = Tensor::zeros(q.shape(), DType::f32);
  Tensor v = Tensor::zeros(q.shape(), DType::f32), attn = Tensor::zeros(q.shape(), DType::f32);
  const ops::RelativeBias bias{.table = weights_.encoder_bias,
                               .num_buckets = c.relative_attention_num_buckets,
                               .max_distance = c.relative_attention_max_distance,
                               .bidirectional = true};
  const auto flat = [&](const Tensor& t) { return t.reshape({n, inner}); };
  for (const T5EncoderBlock& b : weights_.encoder) {
    ops::rmsnorm(x, b.attention_norm.weight, eps, h);
    Tensor qf = flat(q), kf = flat(k), vf = flat(v);
    b.qkv.rows(0, inner)(h, qf);
    b.qkv.rows(inner, 2 * inner)(h, kf);
    b.qkv.rows(2 * inner, 3 * inner)(h, vf);
    ops::dense_attention(q, k, v, 1.0f, attn, bias);  // T5 does not scale its scores
    b.o(flat(attn), out);
    ops::add(x, out, x);
    ops::rmsnorm(x, b.ff_norm.weight, eps, h);
    feed_forward(b.ff, h, out);
    ops::add(x, out, x);
  }
  ops::rmsnorm(x, weights_.encoder_norm.weight, eps, h);
  return h;
}

void T5Model::write_cross_kv(const Tensor& encoded, const BlockTable& blocks, KvCache& cache) const {
  const int64_t n = encoded.dim(0);
  const PagedBatch at = paged_batch({{.n = n, .start = 0, .blocks = &blocks}}, cache.shape().block_size,
                                    spec_.context_length);
  Tensor kv = Tensor::zeros({n, 2 * config_.inner_dim()}, DType::f32);
  for (size_t b = 0; b < weights_.decoder.size(); ++b) {
    weights_.decoder[b].cross_kv(encoded, kv);
    ops::kv_cache_write(kv, at, cache.keys(2 * static_cast<int64_t>(b) + 1), cache.values(2 * static_cast<int64_t>(b) + 1));
  }
}

Tensor T5Model::forward(const ForwardBatch& batch, KvCache& cache, LogitsFor which) const {
  const T5Config& c = config_;
  GENRT_CHECK(which != LogitsFor::all_tokens, "T5: logits of every token are not available (encoder tokens have none)");
  GENRT_CHECK(which != LogitsFor::last_token_hidden, "T5: the decoder's hidden states are not available");
  check_token_ids(batch, c.vocab_size);
  GENRT_CHECK(batch.from_sampled.empty(), "T5: tokens from sampled ids are not supported");
  const int64_t block_size = cache.shape().block_size;

  // Each chunk's encoder input (when the step reads its prompt) and decoder tokens.
  std::vector<int32_t> decoder_ids;
  std::vector<Chunk> self_chunks, cross_chunks;
  std::vector<int64_t> last_rows;
  for (const SequenceChunk& s : batch.sequences) {
    const int64_t encoder_tokens = s.prompt_tokens - 1;
    GENRT_CHECK(encoder_tokens >= 1, "T5: a prompt is the encoder's input (at least one token) and the decoder's start");
    const int32_t* ids = batch.tokens.data() + s.first_token;
    int64_t skip = 0;  // the chunk's tokens that are the encoder's
    if (s.start_pos < encoder_tokens) {
      GENRT_CHECK(s.start_pos == 0 && s.n_tokens > encoder_tokens,
                  "T5: a prompt is read whole in one step (positions [{}, {}) of a {}-token encoder input)", s.start_pos,
                  s.start_pos + s.n_tokens, encoder_tokens);
      write_cross_kv(encode(std::span(ids, static_cast<size_t>(encoder_tokens))), *s.blocks, cache);
      skip = encoder_tokens;
    }
    const int64_t n = s.n_tokens - skip, start = s.start_pos + skip - encoder_tokens;
    decoder_ids.insert(decoder_ids.end(), ids + skip, ids + s.n_tokens);
    self_chunks.push_back({.n = n, .start = start, .blocks = s.blocks});
    // Cross-attention: each decoder token a query of its own over all the encoder positions
    // (a single query at the last position attends to every one before it).
    for (int64_t t = 0; t < n; ++t) cross_chunks.push_back({.n = 1, .start = encoder_tokens - 1, .blocks = s.blocks});
    last_rows.push_back(static_cast<int64_t>(decoder_ids.size()) - 1);
  }

  const auto tokens = static_cast<int64_t>(decoder_ids.size());
  const int64_t inner = c.inner_dim();
  const auto eps = static_cast<float>(c.layer_norm_epsilon);
  const PagedBatch self_batch = paged_batch(self_chunks, block_size, spec_.context_length);
  const PagedBatch cross_batch = paged_batch(cross_chunks, block_size, spec_.context_length);
  Tensor ids = Tensor::zeros({tokens}, DType::i32);
  std::copy(decoder_ids.begin(), decoder_ids.end(), ids.data<int32_t>());
  Tensor x = Tensor::zeros({tokens, c.d_model}, DType::f32), h = Tensor::zeros(x.shape(), DType::f32);
  Tensor out = Tensor::zeros(x.shape(), DType::f32);
  Tensor qkv = Tensor::zeros({tokens, 3 * inner}, DType::f32), q = Tensor::zeros({tokens, c.num_heads, c.d_kv}, DType::f32);
  Tensor attn = Tensor::zeros(q.shape(), DType::f32);
  const ops::RelativeBias bias{.table = weights_.decoder_bias,
                               .num_buckets = c.relative_attention_num_buckets,
                               .max_distance = c.relative_attention_max_distance,
                               .bidirectional = false};
  ops::embedding(weights_.shared, ids, x);
  for (size_t b = 0; b < weights_.decoder.size(); ++b) {
    const T5DecoderBlock& B = weights_.decoder[b];
    const auto self_layer = 2 * static_cast<int64_t>(b), cross_layer = self_layer + 1;
    ops::rmsnorm(x, B.self_norm.weight, eps, h);
    B.self_qkv(h, qkv);
    ops::qkv_cache_write(qkv, self_batch, Tensor(), ref::RopeLayout::rotate_half, q, cache.keys(self_layer),
                         cache.values(self_layer));
    ops::paged_attention(q, cache.keys(self_layer), cache.values(self_layer), self_batch, 1.0f, 0, attn, bias);
    B.self_o(rows_of(attn), out);
    ops::add(x, out, x);

    ops::rmsnorm(x, B.cross_norm.weight, eps, h);
    Tensor q_rows = rows_of(q);
    B.cross_q(h, q_rows);
    ops::paged_attention(q, cache.keys(cross_layer), cache.values(cross_layer), cross_batch, 1.0f, 0, attn);
    B.cross_o(rows_of(attn), out);
    ops::add(x, out, x);

    ops::rmsnorm(x, B.ff_norm.weight, eps, h);
    feed_forward(B.ff, h, out);
    ops::add(x, out, x);
  }
  ops::rmsnorm(x, weights_.decoder_norm.weight, eps, h);
  Tensor rows = Tensor::zeros({static_cast<int64_t>(last_rows.size())}, DType::i32);
  std::copy(last_rows.begin(), last_rows.end(), rows.data<int32_t>());
  Tensor last = Tensor::zeros({rows.dim(0), c.d_model}, DType::f32);
  ops::embedding(h, rows, last);
  if (c.tie_word_embeddings) {
    // The tied head reads the shared embedding, so its input is scaled back by d_model^-1/2.
    const float scale = 1.0f / std::sqrt(static_cast<float>(c.d_model));
    for (int64_t i = 0; i < last.numel(); ++i) last.data<float>()[i] *= scale;
  }
  Tensor logits = Tensor::zeros({rows.dim(0), c.vocab_size}, DType::f32);
  ops::linear(last, c.tie_word_embeddings ? weights_.shared : weights_.lm_head, Tensor(), logits);
  return logits;
}

T5Model load_t5(const std::filesystem::path& dir, const DeviceOptions& device) {
  GENRT_CHECK(device.device == Device::cpu,
              "T5 runs on the CPU only for now (its relative position bias has no GPU kernel yet): use --device cpu");
  const auto config_path = dir / "config.json";
  const T5Config c = t5_config_from_hf(read_json_file(config_path), config_path.string());
  const WeightStore store = WeightStore::open_dir(dir);
  T5Weights w;
  load_named_weights(store, t5_named_weights(c, w));
  return T5Model(c, std::move(w));
}

}  // namespace genrt
