#include "runtime/models/decoder_device.h"

#include <algorithm>

#include "runtime/backend/gpu_limits.h"

namespace genrt {

void DecoderDevice::place_on(std::shared_ptr<DeviceRuntime> runtime, const DeviceOptions& options,
                             const ModelSpec& spec, const MemoryRequest& request, const NamedWeights& weights) {
  GENRT_CHECK(runtime_ == nullptr, "{} is already on the GPU", spec.architecture);
  runtime->expect_planned(request);
  options_ = resolve(options, spec);
  place_weights(*runtime, weights, options_.dtype, spec.architecture);
  runtime_ = std::move(runtime);
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
          .table_width = (spec.context_length + kBlockSize - 1) / kBlockSize};
}

uint64_t DecoderDevice::kv_bytes_per_block(const ModelSpec& spec, DType dtype) {
  return static_cast<uint64_t>(spec.num_layers * 2 * kBlockSize * spec.num_kv_heads * spec.head_dim) *
         dtype_size(dtype);
}

Tensor DecoderDevice::scratch(const Shape& shape, DType dtype) const {
  return runtime_ ? runtime_->scratch(shape, dtype) : Tensor::zeros(shape, dtype);
}

std::optional<DeviceRuntime::Step> DecoderDevice::begin_step() const {
  if (!runtime_) return std::nullopt;
  return std::optional<DeviceRuntime::Step>(std::in_place, *runtime_);
}

StepInputs DecoderDevice::inputs(const ForwardBatch& batch, LogitsFor which, const ModelSpec& spec,
                                 int64_t block_size) const {
  StepInputs host{.paged = make_paged_batch(batch, block_size, spec.context_length),
                  .ids = batch_token_ids(batch),
                  .logit_rows = logit_rows(batch, which)};
  if (!runtime_) return host;
  const StepDims planned = max_step(options_, spec);
  const StepDims step{.tokens = host.paged.tokens(),
                      .seqs = host.paged.seqs(),
                      .logit_rows = host.logit_rows.numel(),
                      .table_width = host.paged.block_tables.dim(1)};
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
  for (auto [from, to] : {std::pair{&host.paged.positions, &device.paged.positions},
                          {&host.paged.slots, &device.paged.slots},
                          {&host.paged.query_start, &device.paged.query_start},
                          {&host.paged.context_lens, &device.paged.context_lens},
                          {&host.paged.block_tables, &device.paged.block_tables},
                          {&host.ids, &device.ids},
                          {&host.logit_rows, &device.logit_rows}}) {
    runtime_->upload(*from, *to);
  }
  device.paged.max_query_len = host.paged.max_query_len;
  device.paged.max_context_len = host.paged.max_context_len;
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
  return KvCache(spec.kv_cache_shape(pool_blocks, kBlockSize), arena, options_.dtype);
}

}  // namespace genrt
