#include "runtime/models/decoder_device.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <utility>

#include <spdlog/spdlog.h>

#include "runtime/backend/gpu_limits.h"
#include "runtime/backend/ops.h"
#include "runtime/backend/step_graph.h"

namespace genrt {

// The CUDA graphs of one model's decode steps, by batch bucket and by whether the step
// draws its tokens, and the fixed buffers their inputs are written into before each replay.
struct DecoderDevice::Graphs {
  std::vector<int64_t> buckets;  // ascending
  GraphInputs inputs;            // the largest bucket's; a bucket's graph reads their first rows
  struct Bucket {
    StepGraph graph;
    Tensor logits;  // where its steps leave them: [bucket, vocab]
  };
  std::map<std::pair<int64_t, bool>, Bucket> by_step;  // by (rows, draws)
  bool failed = false;   // a capture failed: every step runs without graphs
  bool enabled = true;   // set_cuda_graphs
};

namespace {

// An encoder-decoder's decode step's cross-attention inputs on the host (StepInputs::cross):
// each token queries its sequence's encoder output, prompt_tokens - 1 positions, at its last
// position; a row without a prompt (a padding row, pad_decode_batch's) one position of its
// block.
PagedBatch cross_attention_batch(const ForwardBatch& batch, const PagedBatch& paged) {
  GENRT_CHECK(is_decode_step(batch), "an encoder-decoder's forward step here must be a decode step");
  const auto seqs = std::ssize(batch.sequences);
  PagedBatch cross{.positions = Tensor::zeros({seqs}, DType::i32),
                   .slots = paged.slots,
                   .query_start = paged.query_start,
                   .context_lens = Tensor::zeros({seqs}, DType::i32),
                   .block_tables = paged.block_tables,
                   .block_size = paged.block_size,
                   .max_query_len = 1};
  for (int64_t s = 0; s < seqs; ++s) {
    const int64_t prompt = batch.sequences[s].prompt_tokens;
    GENRT_CHECK(prompt == 0 || prompt >= 2,
                "forward: an encoder-decoder's prompt must hold an encoder input before the decoder's start "
                "(this one has {} token)",
                prompt);
    const int64_t encoder_tokens = prompt == 0 ? 1 : prompt - 1;
    GENRT_CHECK(encoder_tokens <= batch.sequences[s].blocks->used * paged.block_size,
                "forward: an encoder output of {} positions is not covered by the {} blocks of its block table",
                encoder_tokens, batch.sequences[s].blocks->used);
    cross.positions.data<int32_t>()[s] = static_cast<int32_t>(encoder_tokens - 1);
    cross.context_lens.data<int32_t>()[s] = static_cast<int32_t>(encoder_tokens);
    cross.max_context_len = std::max(cross.max_context_len, encoder_tokens);
  }
  return cross;
}

// A draw's parameters for a graph of `rows` rows: the batch's rows, then greedy rows for
// the padding (the cheapest draw; nobody reads their ids).
Tensor padded_draw_params(const Tensor& params, int64_t rows) {
  std::vector<ops::SamplingRow> padded(static_cast<size_t>(rows), {.temperature = 0.0f});
  std::memcpy(padded.data(), params.raw(), static_cast<size_t>(params.numel()) * sizeof(int32_t));
  return ops::sampling_rows(padded);
}

}  // namespace

DecoderDevice::DecoderDevice() = default;
DecoderDevice::~DecoderDevice() = default;
DecoderDevice::DecoderDevice(DecoderDevice&&) noexcept = default;
DecoderDevice& DecoderDevice::operator=(DecoderDevice&&) noexcept = default;

void DecoderDevice::place_on(std::shared_ptr<DeviceRuntime> runtime, const DeviceOptions& options,
                             const ModelSpec& spec, const MemoryRequest& request, const NamedWeights& weights) {
  GENRT_CHECK(runtime_ == nullptr, "{} is already on the GPU", spec.architecture);
  runtime->expect_planned(request);
  options_ = resolve(options, spec);
  place_weights(*runtime, weights, options_.dtype, spec.architecture);
  if (options_.cuda_graphs && pooling_disabled()) {
    // Unpooled scratch buffers are cudaMalloc'd per step, which no capture may do.
    spdlog::warn("{}: GENRT_NO_POOL=1 leaves the workspace unpooled: decode steps run without CUDA graphs",
                 spec.architecture);
  } else if (options_.cuda_graphs) {
    auto persistent = [&](const Shape& shape, DType dtype) { return runtime->persistent(shape, dtype); };
    graphs_ = std::make_unique<Graphs>();
    graphs_->buckets = graph_buckets(options_);
    graphs_->inputs = allocate_graph_inputs(options_, spec, persistent);
  }
  runtime_ = std::move(runtime);
}

std::vector<int64_t> DecoderDevice::graph_buckets(const DeviceOptions& options) {
  const int64_t limit = std::min(options.max_step_seqs, options.max_step_tokens);
  std::vector<int64_t> buckets;
  for (int64_t rows = 1; rows < limit; rows *= 2) buckets.push_back(rows);
  buckets.push_back(limit);
  return buckets;
}

int64_t DecoderDevice::max_graphs(const DeviceOptions& options) {
  return 2 * std::ssize(graph_buckets(options));
}

std::vector<int64_t> DecoderDevice::graph_batch_sizes() const {
  return graphs_ && graphs_->enabled && !graphs_->failed ? graphs_->buckets : std::vector<int64_t>{};
}

void DecoderDevice::set_cuda_graphs(bool enabled) {
  if (graphs_) graphs_->enabled = enabled;
}

int64_t DecoderDevice::captured_graphs() const {
  if (!graphs_) return 0;
  return std::ranges::count_if(graphs_->by_step, [](const auto& bucket) { return bucket.second.graph.captured(); });
}

DeviceOptions DecoderDevice::resolve(const DeviceOptions& options, const ModelSpec& spec) {
  GENRT_CHECK(options.dtype == DType::bf16 || options.dtype == DType::f16,
              "--dtype {}: the GPU runs models in bf16 or f16", dtype_name(options.dtype));
  GENRT_CHECK(options.max_step_seqs > 0, "max_step_seqs must be positive");
  // A shape the kernels do not take fails here, before any weight is uploaded.
  ops::expect_gpu_attention_shape(spec.architecture.c_str(), spec.num_kv_heads, spec.head_dim);
  ops::expect_gpu_norm_dim(spec.architecture.c_str(), spec.hidden_size);
  DeviceOptions resolved = options;
  // By default a whole prompt, or the batch scheduler's default step of 512 tokens.
  if (resolved.max_step_tokens <= 0) resolved.max_step_tokens = std::max<int64_t>(spec.context_length, 512);
  return resolved;
}

StepDims DecoderDevice::max_step(const DeviceOptions& options, const ModelSpec& spec) {
  return {.tokens = options.max_step_tokens,
          .seqs = options.max_step_seqs,
          .logit_rows = options.max_step_seqs,
          .table_width = (spec.context_length + kBlockSize - 1) / kBlockSize,
          .cross_attention = spec.decoder_start_token_id.has_value()};
}

uint64_t DecoderDevice::kv_bytes_per_block(const ModelSpec& spec, DType dtype) {
  return static_cast<uint64_t>(spec.num_layers * 2 * kBlockSize * spec.num_kv_heads * spec.head_dim) *
         dtype_size(dtype);
}

Tensor DecoderDevice::scratch(const Shape& shape, DType dtype) const {
  return runtime_ ? runtime_->scratch(shape, dtype) : Tensor::zeros(shape, dtype);
}

Tensor DecoderDevice::forward(const ForwardBatch& batch, LogitsFor which, const ModelSpec& spec, KvCache& cache,
                              const StepBody& body) const {
  if (batch.draw) {
    const auto seqs = std::ssize(batch.sequences);
    const ForwardBatch::Draw& d = *batch.draw;
    GENRT_CHECK(which == LogitsFor::last_token, "forward: a step draws from the logits of each sequence's last token");
    GENRT_CHECK(d.params.rank() == 2 && d.params.dim(0) == seqs && d.params.dim(1) == ops::kSamplingRowWords &&
                    d.params.device() == Device::cpu && d.ids.numel() == seqs,
                "forward: a draw for {} sequences needs host parameters [{}, {}] (ops::sampling_rows) and {} ids, "
                "got {} and {}",
                seqs, seqs, ops::kSamplingRowWords, seqs, shape_string(d.params.shape()), d.ids.numel());
  }
  const auto step = step_on(runtime_.get());  // on the GPU resets the workspace: before any scratch()
  if (graphs_ && graphs_->enabled && !graphs_->failed && which == LogitsFor::last_token && !batch.sequences.empty() &&
      is_decode_step(batch) && std::ssize(batch.sequences) <= graphs_->buckets.back()) {
    return run_graph(batch, spec, cache, body);
  }
  const Tensor logits = body(inputs(batch, which, spec, cache.shape().block_size));
  draw(batch, logits);
  return logits;
}

void DecoderDevice::draw(const ForwardBatch& batch, const Tensor& logits) const {
  if (!batch.draw) return;
  Tensor ids = batch.draw->ids;
  ops::sample(logits, runtime_ ? runtime_->upload(batch.draw->params) : batch.draw->params, ids);
}

Tensor DecoderDevice::run_graph(const ForwardBatch& batch, const ModelSpec& spec, KvCache& cache,
                                const StepBody& body) const {
  Graphs& g = *graphs_;
  const auto seqs = std::ssize(batch.sequences);
  const int64_t rows = *std::lower_bound(g.buckets.begin(), g.buckets.end(), seqs);
  check_token_ids(batch, spec.vocab_size);
  const ForwardBatch padded = pad_decode_batch(batch, rows, cache.padding_table());
  // Block tables as wide as this step's longest (upload_inputs writes them into the
  // graph's wider rows): a full-context width per row would cost more than graphs save.
  StepInputs host{.paged = make_paged_batch(padded, kBlockSize, spec.context_length),
                  .ids = batch_token_ids(padded),
                  .logit_rows = logit_rows(padded, LogitsFor::last_token)};
  if (spec.decoder_start_token_id) host.cross = cross_attention_batch(padded, host.paged);
  // The bucket's inputs: the first rows of the fixed buffers, written before the replay.
  // The kernels are chosen for any context up to the model's (a graph's launches are fixed).
  const StepInputs& fixed = g.inputs.step;
  StepInputs in{.paged = {.positions = fixed.paged.positions.slice(0, rows),
                          .slots = fixed.paged.slots.slice(0, rows),
                          .query_start = fixed.paged.query_start.slice(0, rows + 1),
                          .context_lens = fixed.paged.context_lens.slice(0, rows),
                          .block_tables = fixed.paged.block_tables.slice(0, rows),
                          .block_size = kBlockSize,
                          .max_query_len = 1,
                          .max_context_len = spec.context_length},
                .ids = fixed.ids.slice(0, rows),
                .logit_rows = fixed.logit_rows.slice(0, rows),
                .from_sampled = fixed.from_sampled.slice(0, rows)};
  if (spec.decoder_start_token_id) {
    in.cross = {.positions = fixed.cross.positions.slice(0, rows),
                .slots = in.paged.slots,
                .query_start = in.paged.query_start,
                .context_lens = fixed.cross.context_lens.slice(0, rows),
                .block_tables = in.paged.block_tables,
                .block_size = kBlockSize,
                .max_query_len = 1,
                .max_context_len = spec.context_length};
  }
  upload_inputs(padded, host, in);
  // The draw's parameters into their fixed buffer; the graph draws every row's token into
  // the runtime's sampled ids, where the caller expects them.
  const bool draws = batch.draw.has_value();
  Tensor draw_params, drawn;
  if (draws) {
    drawn = runtime_->sampled_ids(rows);
    GENRT_CHECK(batch.draw->ids.raw() == drawn.raw(), "forward: a decode step's graph draws into the runtime's sampled ids");
    draw_params = g.inputs.draw_params.slice(0, rows);
    runtime_->upload(padded_draw_params(batch.draw->params, rows), draw_params);
  }
  // Every bucket's graph takes its buffers from the same workspace mark, and what runs
  // after it in the step (sampling) carves from where they end: safe because everything
  // runs in order on one stream and no graph buffer holds state from one step to the next.
  // The graphs write the KV pools by address: make_kv_cache carves every cache from the
  // planned arena at the same addresses, so graphs outlive caches; a cache elsewhere
  // recaptures.
  Graphs::Bucket& bucket = g.by_step[{rows, draws}];
  Tensor logits;  // of a launched step; a replay leaves them where its capture put them
  bucket.graph.run(
      *runtime_, {reinterpret_cast<uintptr_t>(cache.keys(0).raw())},
      [&] {
        const Tensor out = body(in);
        GENRT_CHECK(!logits.defined() || out.raw() == logits.raw(),
                    "the captured decode step put its logits elsewhere than the step it was captured from");
        logits = out;
        if (draws) ops::sample(out, draw_params, drawn);
      },
      fmt::format("the {} decode step of batch {}{}", spec.architecture, rows, draws ? " with its draw" : ""));
  if (!logits.defined()) logits = bucket.logits;  // replayed
  bucket.logits = logits;
  if (bucket.graph.failed()) {
    spdlog::warn("{}: decode steps of every batch size run without CUDA graphs from now on", spec.architecture);
    g.failed = true;
    g.by_step.clear();
  }
  return logits.slice(0, seqs);
}

void DecoderDevice::upload_inputs(const ForwardBatch& batch, const StepInputs& host, StepInputs& device) const {
  for (auto [from, to] : {std::pair{&host.paged.positions, &device.paged.positions},
                          {&host.paged.slots, &device.paged.slots},
                          {&host.paged.query_start, &device.paged.query_start},
                          {&host.paged.context_lens, &device.paged.context_lens},
                          {&host.ids, &device.ids},
                          {&host.logit_rows, &device.logit_rows}}) {
    runtime_->upload(*from, *to);
  }
  if (host.cross.positions.defined()) {
    runtime_->upload(host.cross.positions, device.cross.positions);
    runtime_->upload(host.cross.context_lens, device.cross.context_lens);
  }
  // Block tables only as wide as the step's longest: the rest of a wider (fixed, a graph's)
  // row is never read, context_lens bounding every read.
  runtime_->upload_columns(host.paged.block_tables, device.paged.block_tables);
  take_sampled_ids(batch, device.from_sampled, device.ids);
}

void DecoderDevice::take_sampled_ids(const ForwardBatch& batch, const Tensor& from, Tensor& ids) const {
  if (batch.from_sampled.empty()) return;
  Tensor host = Tensor::zeros({std::ssize(batch.from_sampled)}, DType::i32);
  std::copy(batch.from_sampled.begin(), batch.from_sampled.end(), host.data<int32_t>());
  if (!runtime_) {
    ops::take_sampled_ids(batch.sampled, host, ids);
    return;
  }
  runtime_->upload(host, from);
  ops::take_sampled_ids(batch.sampled, from, ids);
}

StepInputs DecoderDevice::inputs(const ForwardBatch& batch, LogitsFor which, const ModelSpec& spec,
                                 int64_t block_size) const {
  StepInputs host{.paged = make_paged_batch(batch, block_size, spec.context_length),
                  .ids = batch_token_ids(batch),
                  .logit_rows = logit_rows(batch, which)};
  if (spec.decoder_start_token_id) host.cross = cross_attention_batch(batch, host.paged);
  if (!runtime_) {
    if (!batch.from_sampled.empty()) check_token_ids(batch, spec.vocab_size);
    take_sampled_ids(batch, Tensor(), host.ids);
    return host;
  }
  const StepDims planned = max_step(options_, spec);
  const StepDims step{.tokens = host.paged.tokens(),
                      .seqs = host.paged.seqs(),
                      .logit_rows = host.logit_rows.numel(),
                      .table_width = host.paged.block_tables.dim(1),
                      .cross_attention = host.cross.positions.defined()};
  GENRT_CHECK(step.tokens <= planned.tokens && step.seqs <= planned.seqs && step.logit_rows <= planned.logit_rows &&
                  step.table_width <= planned.table_width,
              "forward: a step of {} tokens, {} sequences, {} logit rows and {} blocks per sequence exceeds the "
              "planned {} tokens, {} sequences, {} logit rows and {} blocks",
              step.tokens, step.seqs, step.logit_rows, step.table_width, planned.tokens, planned.seqs,
              planned.logit_rows, planned.table_width);
  // The CPU embedding checks ids itself; device ids must be checked before their upload.
  check_token_ids(batch, spec.vocab_size);
  auto scratch = [&](const Shape& shape, DType dtype) { return runtime_->scratch(shape, dtype); };
  StepInputs device = allocate_step_inputs(step, block_size, scratch);
  upload_inputs(batch, host, device);
  device.paged.max_query_len = host.paged.max_query_len;
  device.paged.max_context_len = host.paged.max_context_len;
  device.paged.leading_decodes = host.paged.leading_decodes;
  device.paged.leading_decodes_max_context_len = host.paged.leading_decodes_max_context_len;
  device.cross.max_query_len = host.cross.max_query_len;
  device.cross.max_context_len = host.cross.max_context_len;
  return device;
}

KvCache DecoderDevice::make_kv_cache(const ModelSpec& spec, int64_t blocks, int64_t block_size) const {
  if (!runtime_) return KvCache(spec.kv_cache_shape(blocks, block_size), Device::cpu);
  GENRT_CHECK(block_size == kBlockSize, "the GPU KV cache has blocks of {} tokens, not {}", kBlockSize, block_size);
  DeviceArena& arena = runtime_->kv_arena();
  arena.reset_to(0);  // the planned pool, handed to the newest cache
  // 2 pools per layer, each rounded up to the arena's alignment: drop a block if that
  // rounding would overflow the region.
  const uint64_t block_bytes = kv_bytes_per_block(spec, options_.dtype) / static_cast<uint64_t>(2 * spec.num_layers);
  int64_t pool_blocks = runtime_->plan().kv_blocks;
  while (pool_blocks > 1 && 2 * static_cast<uint64_t>(spec.num_layers) *
                                    DeviceArena::footprint(static_cast<uint64_t>(pool_blocks) * block_bytes) >
                                arena.capacity()) {
    --pool_blocks;
  }
  KvCache cache(spec.kv_cache_shape(pool_blocks, kBlockSize), arena, options_.dtype);
  if (graphs_) cache.set_aside_padding_block();  // now, while every block is free
  return cache;
}

}  // namespace genrt
