#include "runtime/backend/cuda/cuda_ops.h"

#include "kernels/dense_attention.cuh"
#include "kernels/paged_attention.cuh"
#include "runtime/backend/cuda/cuda_context.h"
#include "runtime/backend/cuda/storage_type.h"
#include "runtime/backend/gpu_limits.h"

namespace genrt::cuda_ops {

using ops::data_or_null;

namespace {

// The device's buckets of a bias (none without a table), computed here as the CPU does.
ref::RelativeBucketStarts bucket_starts(const ref::RelativePositionBias& bias) {
  if (bias.table == nullptr) return {};
  const ref::RelativeBucketStarts starts = ref::relative_bucket_starts(bias.num_buckets, bias.max_distance,
                                                                      bias.bidirectional);
  GENRT_CHECK(starts.count > 0, "relative position bias of {} buckets: the GPU takes at most {} logarithmic buckets a "
              "direction", bias.num_buckets, ref::kMaxLogBuckets);
  return starts;
}

}  // namespace

void paged_attention(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache, const PagedBatch& batch,
                     float scale, int64_t window, Tensor& out, const ref::RelativePositionBias& bias) {
  ops::expect_gpu_attention_shape("paged_attention", q.dim(1), q.dim(2));
  const CudaContext& context = current_cuda_context();
  with_storage_type(q.dtype(), [&]<class T>() {
    const kernels::PagedAttentionLaunch<T> launch{.q = data_or_null<T>(q),
                                                  .out = data_or_null<T>(out),
                                                  .k_cache = data_or_null<T>(k_cache),
                                                  .v_cache = data_or_null<T>(v_cache),
                                                  .block_tables = data_or_null<int32_t>(batch.block_tables),
                                                  .query_start = data_or_null<int32_t>(batch.query_start),
                                                  .context_lens = data_or_null<int32_t>(batch.context_lens),
                                                  .seqs = batch.seqs(),
                                                  .tokens = q.dim(0),
                                                  .q_heads = q.dim(1),
                                                  .kv_heads = k_cache.dim(2),
                                                  .head_dim = q.dim(2),
                                                  .block_size = batch.block_size,
                                                  .max_blocks_per_seq = batch.block_tables.dim(1),
                                                  .scale = scale,
                                                  .window = window,
                                                  .bias = bias,
                                                  .bias_starts = bucket_starts(bias),
                                                  .max_query_len = batch.max_query_len,
                                                  .max_context_len = batch.max_context_len,
                                                  .leading_decodes = batch.leading_decodes,
                                                  .leading_decodes_max_context_len =
                                                      batch.leading_decodes_max_context_len,
                                                  .split_workspace = context.attention_workspace,
                                                  .split_workspace_bytes =
                                                      static_cast<int64_t>(context.attention_workspace_bytes),
                                                  .cache_blocks = k_cache.dim(0),
                                                  .max_compute_capability = context.attention_compute_capability,
                                                  .hopper_schedule = context.attention_hopper_schedule};
    check_cuda(kernels::launch_paged_attention(launch, context.stream), "paged attention kernel");
  });
}

void dense_attention(const Tensor& q, const Tensor& k, const Tensor& v, float scale, Tensor& out,
                     const ref::RelativePositionBias& bias) {
  ops::expect_gpu_attention_shape("dense_attention", q.dim(2), q.dim(3));
  const CudaContext& context = current_cuda_context();
  with_storage_type(q.dtype(), [&]<class T>() {
    const kernels::DenseAttentionLaunch<T> launch{.q = data_or_null<T>(q),
                                                  .k = data_or_null<T>(k),
                                                  .v = data_or_null<T>(v),
                                                  .out = data_or_null<T>(out),
                                                  .batch = q.dim(0),
                                                  .tokens = q.dim(1),
                                                  .kv_tokens = k.dim(1),
                                                  .q_heads = q.dim(2),
                                                  .kv_heads = k.dim(2),
                                                  .head_dim = q.dim(3),
                                                  .scale = scale,
                                                  .bias = bias,
                                                  .bias_starts = bucket_starts(bias),
                                                  .max_compute_capability = context.attention_compute_capability,
                                                  .hopper_schedule = context.attention_hopper_schedule};
    check_cuda(kernels::launch_dense_attention(launch, context.stream), "dense attention kernel");
  });
}

}  // namespace genrt::cuda_ops
