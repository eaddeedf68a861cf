#include "runtime/models/t5/t5_model.h"

#include <algorithm>
#include <cmath>

#include "runtime/backend/device_runtime.h"
#include "runtime/io/json_file.h"
#include "runtime/io/weight_store.h"
#include "runtime/memory/device_arena.h"
#include "runtime/models/placement.h"

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

// [tokens, heads, d_kv] as [tokens, heads * d_kv].
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

// The buffers of one encoder run, reused by every block.
struct T5Model::EncoderBuffers {
  Tensor x, h, out;       // [tokens, d_model]: the residual stream, its norm, a block's output
  Tensor qkv;             // [3, tokens, heads, d_kv]: q, k and v, one GEMM's parts
  Tensor attn;            // [1, tokens, heads, d_kv]
  Tensor inner, act;      // [tokens, d_ff] (gated: inner [tokens, 2 d_ff])
  Tensor kv;              // [tokens, 2 inner]: one decoder block's cross-attention keys | values
};

// The buffers of one decoder step, reused by every block.
struct T5Model::DecoderBuffers {
  Tensor x, h, out;  // [tokens, d_model]
  Tensor qkv;        // [tokens, 3 inner]
  Tensor q, attn;    // [tokens, heads, d_kv]
  Tensor inner, act;
  Tensor last;       // [seqs, d_model]: each sequence's last token
  Tensor logits;     // [seqs, vocab] f32
};

namespace {

// A paged batch's metadata as make_paged_batch shapes it (all i32).
template <class Alloc>
void allocate_paged_batch(int64_t tokens, int64_t seqs, int64_t width, Alloc& alloc) {
  for (const Shape& shape : {Shape{tokens}, Shape{tokens}, Shape{seqs + 1}, Shape{seqs}, Shape{seqs, width}}) {
    alloc(shape, DType::i32);
  }
}

// What a step uploads into its workspace: the decoder's ids, their sampled-id sources
// (asynchronous scheduling) and last rows, its self- and cross-attention batches (a
// pseudo-sequence per decoder token), and its encoder runs' ids and cache-write batches
// (together at most the step's tokens and sequences).
template <class Alloc>
void allocate_step_metadata(const StepDims& step, Alloc& alloc) {
  alloc({step.tokens}, DType::i32);
  alloc({step.tokens}, DType::i32);
  alloc({step.seqs}, DType::i32);
  allocate_paged_batch(step.tokens, step.seqs, step.table_width, alloc);
  allocate_paged_batch(step.tokens, step.tokens, step.table_width, alloc);
  alloc({step.tokens}, DType::i32);
  allocate_paged_batch(step.tokens, step.seqs, step.table_width, alloc);
}

bool is_bias_table(const NamedWeight& w) { return w.name.ends_with("relative_attention_bias.weight"); }

// The weights the device holds in the model's dtype: all but the bias tables, kept in f32
// (the attention ops read them so).
NamedWeights without_bias_tables(NamedWeights list) {
  std::erase_if(list, is_bias_table);
  return list;
}

}  // namespace

template <class Alloc>
T5Model::EncoderBuffers T5Model::allocate_encoder(int64_t n, DType dtype, Alloc& alloc) const {
  const T5Config& c = config_;
  const Shape by_heads{1, n, c.num_heads, c.d_kv};
  return {.x = alloc({n, c.d_model}, dtype),
          .h = alloc({n, c.d_model}, dtype),
          .out = alloc({n, c.d_model}, dtype),
          .qkv = alloc({3, n, c.num_heads, c.d_kv}, dtype),
          .attn = alloc(by_heads, dtype),
          .inner = alloc({n, c.gated ? 2 * c.d_ff : c.d_ff}, dtype),
          .act = alloc({n, c.d_ff}, dtype),
          .kv = alloc({n, 2 * c.inner_dim()}, dtype)};
}

template <class Alloc>
T5Model::DecoderBuffers T5Model::allocate_decoder(const StepDims& step, DType dtype, Alloc& alloc) const {
  const T5Config& c = config_;
  const int64_t t = step.tokens;
  return {.x = alloc({t, c.d_model}, dtype),
          .h = alloc({t, c.d_model}, dtype),
          .out = alloc({t, c.d_model}, dtype),
          .qkv = alloc({t, 3 * c.inner_dim()}, dtype),
          .q = alloc({t, c.num_heads, c.d_kv}, dtype),
          .attn = alloc({t, c.num_heads, c.d_kv}, dtype),
          .inner = alloc({t, c.gated ? 2 * c.d_ff : c.d_ff}, dtype),
          .act = alloc({t, c.d_ff}, dtype),
          .last = alloc({step.seqs, c.d_model}, dtype),
          .logits = alloc({step.seqs, c.vocab_size}, DType::f32)};
}

T5Model::T5Model(T5Config config, T5Weights weights)
    : config_(std::move(config)), spec_(config_.spec()), weights_(std::move(weights)) {
  if (config_.tie_word_embeddings && weights_.decoder_norm.weight.defined()) {
    // The tied head reads the shared embedding, so transformers scales its input by
    // d_model^-1/2; the final RMS norm's weight carries that scale as well (a new tensor:
    // the caller's weights stay as loaded).
    const Tensor& loaded = weights_.decoder_norm.weight;
    Tensor scaled = Tensor::zeros(loaded.shape(), DType::f32);
    const float scale = 1.0f / std::sqrt(static_cast<float>(config_.d_model));
    for (int64_t i = 0; i < loaded.numel(); ++i) scaled.data<float>()[i] = loaded.data<float>()[i] * scale;
    weights_.decoder_norm.weight = std::move(scaled);
  }
}

T5Model::~T5Model() = default;
T5Model::T5Model(T5Model&&) noexcept = default;

KvCache T5Model::make_kv_cache(int64_t blocks, int64_t block_size) const {
  return device_.make_kv_cache(spec_, blocks, block_size);
}

MemoryRequest T5Model::memory_request(const DeviceOptions& options) const {
  const T5Config& c = config_;
  GENRT_CHECK(options.dtype == DType::bf16,
              "T5 on the GPU runs in bf16: its activations overflow fp16 (transformers clamps them); use --dtype bf16");
  T5Weights listed = weights_;  // handles to the same tensors: only their names and shapes are read
  const NamedWeights list = t5_named_weights(c, listed);
  const uint64_t weight_bytes =
      weight_footprint(without_bias_tables(list), options.dtype) +
      2 * DeviceArena::footprint(Shape{c.relative_attention_num_buckets, c.num_heads}, DType::f32);
  ArenaFootprint uploads;
  MemoryRequest request = DecoderDevice::memory_request(
      spec_, options, weight_bytes, [&](const StepDims& step, DType dtype, auto& alloc) {
        // The decoder and one encoder run at a time (each from the same workspace mark),
        // and the metadata the step uploads into the workspace, which is staged as well.
        allocate_decoder(step, dtype, alloc);
        allocate_encoder(step.tokens, dtype, alloc);
        allocate_step_metadata(step, alloc);
        allocate_step_metadata(step, uploads);
        // Each encoder run stages its 6 uploads 256-aligned: up to a step's sequences of them.
        uploads.bytes += 6 * DeviceArena::kAlignment * static_cast<uint64_t>(step.seqs);
      });
  request.step_upload_bytes += uploads.bytes;
  return request;
}

void T5Model::place_on(std::shared_ptr<DeviceRuntime> runtime, const DeviceOptions& options) {
  const MemoryRequest request = memory_request(options);
  device_.place_on(std::move(runtime), options, spec_, request,
                   without_bias_tables(t5_named_weights(config_, weights_)));
  weights_.encoder_bias = device_.runtime()->upload_weight(weights_.encoder_bias, DType::f32);
  weights_.decoder_bias = device_.runtime()->upload_weight(weights_.decoder_bias, DType::f32);
  options_ = DecoderDevice::resolve(options, spec_);
}

Tensor T5Model::on_device(const Tensor& host) const {
  DeviceRuntime* runtime = device_.runtime();
  return runtime != nullptr ? runtime->upload(host) : host;
}

PagedBatch T5Model::on_device(const PagedBatch& host) const {
  return {.positions = on_device(host.positions),
          .slots = on_device(host.slots),
          .query_start = on_device(host.query_start),
          .context_lens = on_device(host.context_lens),
          .block_tables = on_device(host.block_tables),
          .block_size = host.block_size,
          .max_query_len = host.max_query_len,
          .max_context_len = host.max_context_len};
}

void T5Model::feed_forward(const T5FeedForward& ff, const Tensor& x, Tensor& inner, Tensor& act, Tensor& out) const {
  ff.wi(x, inner);
  if (config_.gated) {
    ops::gated_gelu(inner, act);
  } else {
    ops::relu(inner, act);
  }
  ff.wo(act, out);
}

void T5Model::run_encoder(std::span<const int32_t> ids, EncoderBuffers& b) const {
  const T5Config& c = config_;
  const auto n = static_cast<int64_t>(ids.size());
  const int64_t inner = c.inner_dim();
  const auto eps = static_cast<float>(c.layer_norm_epsilon);
  Tensor host_ids = Tensor::zeros({n}, DType::i32);
  std::copy(ids.begin(), ids.end(), host_ids.data<int32_t>());
  ops::embedding(weights_.shared, on_device(host_ids), b.x);
  const ops::RelativeBias bias{.table = weights_.encoder_bias,
                               .num_buckets = c.relative_attention_num_buckets,
                               .max_distance = c.relative_attention_max_distance,
                               .bidirectional = true};
  const auto flat = [&](const Tensor& t) { return t.reshape({n, inner}); };
  for (const T5EncoderBlock& block : weights_.encoder) {
    ops::rmsnorm(b.x, block.attention_norm.weight, eps, b.h);
    Tensor parts = b.qkv.reshape({3, n, inner});
    ops::linear_parts(b.h, block.qkv.weight, block.qkv.bias, parts);
    const auto part = [&](int64_t i) { return b.qkv.select(i).reshape({1, n, c.num_heads, c.d_kv}); };
    ops::dense_attention(part(0), part(1), part(2), 1.0f, b.attn, bias);  // T5 does not scale its scores
    block.o(flat(b.attn), b.out);
    ops::add(b.x, b.out, b.x);
    ops::rmsnorm(b.x, block.ff_norm.weight, eps, b.h);
    feed_forward(block.ff, b.h, b.inner, b.act, b.out);
    ops::add(b.x, b.out, b.x);
  }
  ops::rmsnorm(b.x, weights_.encoder_norm.weight, eps, b.h);
}

Tensor T5Model::encode(std::span<const int32_t> ids) const {
  DeviceRuntime* runtime = device_.runtime();
  for (int32_t id : ids) {  // before the ids reach a device
    GENRT_CHECK(id >= 0 && id < config_.vocab_size, "T5: token id {} is outside the vocabulary [0, {})", id,
                config_.vocab_size);
  }
  GENRT_CHECK(runtime == nullptr || std::ssize(ids) <= options_.max_step_tokens,
              "T5: an input of {} tokens exceeds the planned step of {} tokens", ids.size(), options_.max_step_tokens);
  const auto step = step_on(runtime);
  auto scratch = [&](const Shape& shape, DType dtype) { return device_.scratch(shape, dtype); };
  EncoderBuffers b = allocate_encoder(static_cast<int64_t>(ids.size()), device_.activations(), scratch);
  run_encoder(ids, b);
  return runtime != nullptr ? runtime->download(b.h).to_f32() : b.h;
}

void T5Model::encode_into_cache(std::span<const int32_t> ids, const BlockTable& blocks, KvCache& cache) const {
  DeviceRuntime* runtime = device_.runtime();
  // Every encoder of a step starts from the same mark: in stream order, one run's buffers
  // are free once its keys and values are in the cache.
  const uint64_t mark = runtime != nullptr ? runtime->workspace_mark() : 0;
  const auto n = static_cast<int64_t>(ids.size());
  auto scratch = [&](const Shape& shape, DType dtype) { return device_.scratch(shape, dtype); };
  EncoderBuffers b = allocate_encoder(n, device_.activations(), scratch);
  run_encoder(ids, b);
  const PagedBatch at =
      on_device(paged_batch({{.n = n, .start = 0, .blocks = &blocks}}, cache.shape().block_size, spec_.context_length));
  for (size_t block = 0; block < weights_.decoder.size(); ++block) {
    const auto layer = 2 * static_cast<int64_t>(block) + 1;
    weights_.decoder[block].cross_kv(b.h, b.kv);
    ops::kv_cache_write(b.kv, at, cache.keys(layer), cache.values(layer));
  }
  if (runtime != nullptr) runtime->restore_workspace(mark);
}

Tensor T5Model::forward(const ForwardBatch& batch, KvCache& cache, LogitsFor which) const {
  const T5Config& c = config_;
  GENRT_CHECK(which != LogitsFor::all_tokens, "T5: logits of every token are not available (encoder tokens have none)");
  GENRT_CHECK(which != LogitsFor::last_token_hidden, "T5: the decoder's hidden states are not available");
  check_token_ids(batch, c.vocab_size);
  if (device_.runtime() != nullptr) {
    GENRT_CHECK(std::ssize(batch.tokens) <= options_.max_step_tokens &&
                    std::ssize(batch.sequences) <= options_.max_step_seqs,
                "T5: a step of {} tokens and {} sequences exceeds the planned {} tokens and {} sequences",
                batch.tokens.size(), batch.sequences.size(), options_.max_step_tokens, options_.max_step_seqs);
  }
  // A step of decodes, and of a CUDA graph's padding rows (pad_decode_batch: no prompt, the
  // cache's padding table); any other row without a prompt is refused below.
  const bool decodes = is_decode_step(batch) && std::ranges::all_of(batch.sequences, [&](const SequenceChunk& s) {
                         return s.prompt_tokens == 0 ? cache.is_padding_table(s.blocks)
                                                     : s.start_pos >= s.prompt_tokens - 1;
                       });
  if (decodes) return decode_step(batch, cache);
  const int64_t block_size = cache.shape().block_size;
  const auto step = step_on(device_.runtime());

  // Each chunk's encoder input (when the step reads its prompt: encoded into the cache
  // first) and decoder tokens.
  std::vector<int32_t> decoder_ids, decoder_from;  // decoder_from: ForwardBatch::from_sampled of each
  std::vector<Chunk> self_chunks, cross_chunks;
  std::vector<int32_t> last_rows;
  for (const SequenceChunk& s : batch.sequences) {
    const int64_t encoder_tokens = s.prompt_tokens - 1;
    GENRT_CHECK(encoder_tokens >= 1, "T5: a prompt is the encoder's input (at least one token) and the decoder's start");
    const int32_t* ids = batch.tokens.data() + s.first_token;
    int64_t skip = 0;  // the chunk's tokens that are the encoder's
    if (s.start_pos < encoder_tokens) {
      GENRT_CHECK(s.start_pos == 0 && s.n_tokens > encoder_tokens,
                  "T5: a prompt is read whole in one step (positions [{}, {}) of a {}-token encoder input)", s.start_pos,
                  s.start_pos + s.n_tokens, encoder_tokens);
      encode_into_cache(std::span(ids, static_cast<size_t>(encoder_tokens)), *s.blocks, cache);
      skip = encoder_tokens;
    }
    const int64_t n = s.n_tokens - skip, start = s.start_pos + skip - encoder_tokens;
    decoder_ids.insert(decoder_ids.end(), ids + skip, ids + s.n_tokens);
    if (!batch.from_sampled.empty()) {
      const int32_t* from = batch.from_sampled.data() + s.first_token;
      GENRT_CHECK(std::all_of(from, from + skip, [](int32_t f) { return f < 0; }),
                  "T5: an encoder input token cannot come from sampled ids");
      decoder_from.insert(decoder_from.end(), from + skip, from + s.n_tokens);
    }
    self_chunks.push_back({.n = n, .start = start, .blocks = s.blocks});
    // Cross-attention: each decoder token a query of its own over all the encoder positions
    // (a single query at the last position attends to every one before it).
    for (int64_t t = 0; t < n; ++t) cross_chunks.push_back({.n = 1, .start = encoder_tokens - 1, .blocks = s.blocks});
    last_rows.push_back(static_cast<int32_t>(decoder_ids.size()) - 1);
  }

  Tensor host_ids = Tensor::zeros({std::ssize(decoder_ids)}, DType::i32);
  Tensor host_rows = Tensor::zeros({std::ssize(last_rows)}, DType::i32);
  std::copy(decoder_ids.begin(), decoder_ids.end(), host_ids.data<int32_t>());
  std::copy(last_rows.begin(), last_rows.end(), host_rows.data<int32_t>());
  const PagedBatch self_host = paged_batch(self_chunks, block_size, spec_.context_length);
  if (device_.runtime() != nullptr) {
    const int64_t planned_width = DecoderDevice::max_step(options_, spec_).table_width;
    GENRT_CHECK(self_host.block_tables.dim(1) <= planned_width,
                "T5: a block table of {} blocks is wider than the planned {}", self_host.block_tables.dim(1),
                planned_width);
  }
  Tensor ids = on_device(host_ids);
  if (!decoder_from.empty()) {  // asynchronous scheduling: the previous step's ids, on its device
    Tensor host_from = Tensor::zeros({std::ssize(decoder_from)}, DType::i32);
    std::copy(decoder_from.begin(), decoder_from.end(), host_from.data<int32_t>());
    ops::take_sampled_ids(batch.sampled, on_device(host_from), ids);
  }
  const Tensor logits =
      decoder_layers(ids, on_device(self_host), on_device(paged_batch(cross_chunks, block_size, spec_.context_length)),
                     on_device(host_rows), cache);
  device_.draw(batch, logits);
  return logits;
}

Tensor T5Model::decode_step(const ForwardBatch& batch, KvCache& cache) const {
  // Positions as the decoder's: token j of the decoder at position j of the self layers.
  ForwardBatch decoder = batch;
  for (SequenceChunk& s : decoder.sequences) {
    if (s.prompt_tokens > 0) s.start_pos -= s.prompt_tokens - 1;
  }
  return device_.forward(decoder, LogitsFor::last_token, spec_, cache, [&](const StepInputs& in) {
    return decoder_layers(in.ids, in.paged, in.cross, in.logit_rows, cache);
  });
}

Tensor T5Model::decoder_layers(const Tensor& ids, const PagedBatch& self, const PagedBatch& cross, const Tensor& rows,
                               KvCache& cache) const {
  const T5Config& c = config_;
  const auto eps = static_cast<float>(c.layer_norm_epsilon);
  auto scratch = [&](const Shape& shape, DType dtype) { return device_.scratch(shape, dtype); };
  DecoderBuffers b = allocate_decoder({.tokens = ids.numel(), .seqs = rows.numel(), .logit_rows = rows.numel()},
                                      device_.activations(), scratch);
  const ops::RelativeBias bias{.table = weights_.decoder_bias,
                               .num_buckets = c.relative_attention_num_buckets,
                               .max_distance = c.relative_attention_max_distance,
                               .bidirectional = false};
  ops::embedding(weights_.shared, ids, b.x);
  for (size_t block = 0; block < weights_.decoder.size(); ++block) {
    const T5DecoderBlock& B = weights_.decoder[block];
    const auto self_layer = 2 * static_cast<int64_t>(block), cross_layer = self_layer + 1;
    ops::rmsnorm(b.x, B.self_norm.weight, eps, b.h);
    B.self_qkv(b.h, b.qkv);
    ops::qkv_cache_write(b.qkv, self, Tensor(), ref::RopeLayout::rotate_half, b.q, cache.keys(self_layer),
                         cache.values(self_layer));
    ops::paged_attention(b.q, cache.keys(self_layer), cache.values(self_layer), self, 1.0f, 0, b.attn, bias);
    B.self_o(rows_of(b.attn), b.out);
    ops::add(b.x, b.out, b.x);

    ops::rmsnorm(b.x, B.cross_norm.weight, eps, b.h);
    Tensor q_rows = rows_of(b.q);
    B.cross_q(b.h, q_rows);
    ops::paged_attention(b.q, cache.keys(cross_layer), cache.values(cross_layer), cross, 1.0f, 0, b.attn);
    B.cross_o(rows_of(b.attn), b.out);
    ops::add(b.x, b.out, b.x);

    ops::rmsnorm(b.x, B.ff_norm.weight, eps, b.h);
    feed_forward(B.ff, b.h, b.inner, b.act, b.out);
    ops::add(b.x, b.out, b.x);
  }
  // The final norm (with a tied head's scale in its weight), each sequence's last row, the head.
  ops::rmsnorm(b.x, weights_.decoder_norm.weight, eps, b.h);
  ops::embedding(b.h, rows, b.last);
  ops::linear(b.last, c.tie_word_embeddings ? weights_.shared : weights_.lm_head, Tensor(), b.logits);
  return b.logits;
}

T5Model load_t5(const std::filesystem::path& dir, const DeviceOptions& device) {
  const auto config_path = dir / "config.json";
  const T5Config c = t5_config_from_hf(read_json_file(config_path), config_path.string());
  const WeightStore store = WeightStore::open_dir(dir);
  T5Weights w;
  load_named_weights(store, t5_named_weights(c, w));
  T5Model model(c, std::move(w));
  if (device.device == Device::cuda) place_alone(model, device);
  return model;
}

}  // namespace genrt
