#include "runtime/backend/attention_ops.h"

#include "kernels/ref/attention.h"
#include "kernels/ref/dense_attention.h"
#include "runtime/backend/cuda_dispatch.h"
#include "runtime/backend/paged_batch_checks.h"

namespace genrt::ops {

namespace {

// The bias's table checked against the heads, as the reference kernels take it.
ref::RelativePositionBias checked_bias(const RelativeBias& bias, int64_t n_heads, const Placement& where, const char* op) {
  if (!bias.table.defined()) return {};
  expect_on(bias.table, {where.device, DType::f32}, op, "bias table");  // f32 whatever the activations
  expect_shape(bias.table, {bias.num_buckets, n_heads}, op, "bias table");
  // The bucket formula needs a positive logarithm's base: max_distance above the exact buckets.
  GENRT_CHECK(bias.num_buckets >= 4 && bias.max_distance > bias.num_buckets / 2,
              "{}: relative position bias of {} buckets up to distance {}: at least 4 buckets, and a distance over half "
              "their number",
              op, bias.num_buckets, bias.max_distance);
  return {.table = bias.table.data<float>(),  // on the op's device
          .num_buckets = bias.num_buckets,
          .max_distance = bias.max_distance,
          .bidirectional = bias.bidirectional};
}

}  // namespace

void paged_attention(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache, const PagedBatch& batch,
                     float scale, int64_t window, Tensor& out, const RelativeBias& bias) {
  const char* op = "paged_attention";
  GENRT_CHECK(window >= 0, "{}: sliding window {} must be >= 0 (0: no window)", op, window);
  const Placement where = placement_of(q, op, "q");
  expect_on(out, where, op, "out");
  expect_kv_cache(k_cache, v_cache, where, op);
  GENRT_CHECK(q.rank() == 3, "{}: q must be [tokens, heads, head_dim], got {}", op, shape_string(q.shape()));
  expect_shape(out, q.shape(), op, "out");
  const int64_t n_heads = q.dim(1), n_kv_heads = k_cache.dim(2), head_dim = q.dim(2);
  GENRT_CHECK(k_cache.dim(3) == head_dim, "{}: cache head_dim {} != q head_dim {}", op, k_cache.dim(3), head_dim);
  GENRT_CHECK(n_kv_heads > 0 && n_heads % n_kv_heads == 0, "{}: {} query heads are not a multiple of {} KV heads",
              op, n_heads, n_kv_heads);
  expect_paged_batch(batch, k_cache, q.dim(0), where.device, op, window);
  const ref::RelativePositionBias position_bias = checked_bias(bias, n_heads, where, op);
  GENRT_ON_CUDA(where, cuda_ops::paged_attention(q, k_cache, v_cache, batch, scale, window, out, position_bias));
  const int32_t* start = batch.query_start.data<int32_t>();
  const int64_t row = n_heads * head_dim;
  for (int64_t s = 0; s < batch.seqs(); ++s) {
    const int64_t n_new = start[s + 1] - start[s];
    ref::attention({.q = q.data<float>() + start[s] * row,
                    .k_cache = k_cache.data<float>(),
                    .v_cache = v_cache.data<float>(),
                    .block_table = batch.block_tables.data<int32_t>() + s * batch.block_tables.dim(1),
                    .out = out.data<float>() + start[s] * row,
                    .tokens = n_new,
                    .q_start = batch.context_lens.data<int32_t>()[s] - n_new,
                    .n_heads = n_heads,
                    .n_kv_heads = n_kv_heads,
                    .head_dim = head_dim,
                    .block_size = batch.block_size,
                    .scale = scale,
                    .window = window,
                    .bias = position_bias});
  }
}

void dense_attention(const Tensor& q, const Tensor& k, const Tensor& v, float scale, Tensor& out,
                     const RelativeBias& bias) {
  const char* op = "dense_attention";
  const Placement where = placement_of(q, op, "q");
  expect_on(k, where, op, "k");
  expect_on(v, where, op, "v");
  expect_on(out, where, op, "out");
  GENRT_CHECK(q.rank() == 4 && k.rank() == 4, "{}: q {} and k {} must be [batch, tokens, heads, head_dim]", op,
              shape_string(q.shape()), shape_string(k.shape()));
  const int64_t n_heads = q.dim(2), n_kv_heads = k.dim(2);
  expect_shape(k, {q.dim(0), k.dim(1), n_kv_heads, q.dim(3)}, op, "k");
  expect_shape(v, k.shape(), op, "v");
  expect_shape(out, q.shape(), op, "out");
  GENRT_CHECK(n_kv_heads > 0 && n_heads % n_kv_heads == 0, "{}: {} query heads are not a multiple of {} KV heads",
              op, n_heads, n_kv_heads);
  const ref::RelativePositionBias position_bias = checked_bias(bias, n_heads, where, op);
  GENRT_ON_CUDA(where, cuda_ops::dense_attention(q, k, v, scale, out, position_bias));
  ref::dense_attention({.q = q.data<float>(),
                        .k = k.data<float>(),
                        .v = v.data<float>(),
                        .out = out.data<float>(),
                        .batch = q.dim(0),
                        .tokens = q.dim(1),
                        .kv_tokens = k.dim(1),
                        .n_heads = n_heads,
                        .n_kv_heads = n_kv_heads,
                        .head_dim = q.dim(3),
                        .scale = scale,
                        .bias = position_bias});
}

}  // namespace genrt::ops
