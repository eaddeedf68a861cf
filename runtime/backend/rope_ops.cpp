#include "runtime/backend/rope_ops.h"

#include <algorithm>

#include "kernels/ref/kv_cache_write.h"
#include "runtime/backend/cuda_dispatch.h"
#include "runtime/backend/paged_batch_checks.h"

namespace genrt::ops {

namespace {

// The CPU reference of the cache write, on checked tensors.
void write_kv_rows(const Tensor& k, const Tensor& v, const PagedBatch& batch, Tensor& k_cache, Tensor& v_cache) {
  ref::kv_cache_write({.k = k.data<float>(),
                       .v = v.data<float>(),
                       .slots = batch.slots.data<int32_t>(),
                       .k_cache = k_cache.data<float>(),
                       .v_cache = v_cache.data<float>(),
                       .tokens = k.dim(0),
                       .row = k_cache.dim(2) * k_cache.dim(3)});
}

}  // namespace

void rope(Tensor& x, const Tensor& positions, const Tensor& inv_freq, ref::RopeLayout layout) {
  expect_cpu(x, "rope", "x");
  expect_cpu(positions, "rope", "positions", DType::i32);
  expect_cpu(inv_freq, "rope", "inv_freq");
  GENRT_CHECK(x.rank() == 3, "rope: x must be [tokens, heads, head_dim], got {}", shape_string(x.shape()));
  const int64_t head_dim = x.dim(2);
  GENRT_CHECK(head_dim % 2 == 0, "rope: head_dim {} must be even", head_dim);
  expect_shape(positions, {x.dim(0)}, "rope", "positions");
  expect_shape(inv_freq, {head_dim / 2}, "rope", "inv_freq");
  ref::rope(x.data<float>(), positions.data<int32_t>(), inv_freq.data<float>(), x.dim(0), x.dim(1), head_dim,
            layout);
}

void qkv_cache_write(const Tensor& qkv, const PagedBatch& batch, const Tensor& inv_freq, ref::RopeLayout layout,
                     Tensor& q, Tensor& k_cache, Tensor& v_cache) {
  const char* op = "qkv_cache_write";
  const Placement where = placement_of(qkv, op, "qkv");
  expect_kv_cache(k_cache, v_cache, where, op);
  expect_on(q, where, op, "q");
  const int64_t tokens = qkv.dim(0), kv_heads = k_cache.dim(2), head_dim = k_cache.dim(3);
  GENRT_CHECK(q.rank() == 3 && q.dim(0) == tokens && q.dim(2) == head_dim,
              "{}: q {} must be [tokens, heads, head_dim] for {} tokens of the cache's head_dim {}", op,
              shape_string(q.shape()), tokens, head_dim);
  const int64_t q_row = q.dim(1) * head_dim, kv_row = kv_heads * head_dim;
  expect_shape(qkv, {tokens, q_row + 2 * kv_row}, op, "qkv");
  expect_paged_batch(batch, k_cache, tokens, where.device, op, /*window=*/1);  // writes touch only their own slots
  const bool rotates = inv_freq.defined();
  if (rotates) {
    GENRT_CHECK(head_dim % 2 == 0, "{}: head_dim {} must be even", op, head_dim);
    expect_on(inv_freq, {where.device, DType::f32}, op, "inv_freq");
    expect_shape(inv_freq, {head_dim / 2}, op, "inv_freq");
  }
  GENRT_ON_CUDA(where, cuda_ops::qkv_cache_write(qkv, batch, inv_freq, layout, q, k_cache, v_cache));
  // Everything is checked: split the rows, then run the references directly (this runs
  // for every layer of every step).
  Tensor k = Tensor::zeros({tokens, kv_heads, head_dim}, DType::f32), v = Tensor::zeros(k.shape(), DType::f32);
  const float* src = qkv.data<float>();
  for (int64_t t = 0; t < tokens; ++t, src += q_row + 2 * kv_row) {
    std::copy_n(src, q_row, q.data<float>() + t * q_row);
    std::copy_n(src + q_row, kv_row, k.data<float>() + t * kv_row);
    std::copy_n(src + q_row + kv_row, kv_row, v.data<float>() + t * kv_row);
  }
  if (rotates) {
    const int32_t* positions = batch.positions.data<int32_t>();
    ref::rope(q.data<float>(), positions, inv_freq.data<float>(), tokens, q.dim(1), head_dim, layout);
    ref::rope(k.data<float>(), positions, inv_freq.data<float>(), tokens, kv_heads, head_dim, layout);
  }
  write_kv_rows(k, v, batch, k_cache, v_cache);
}

void kv_cache_write(const Tensor& kv, const PagedBatch& batch, Tensor& k_cache, Tensor& v_cache) {
  const char* op = "kv_cache_write";
  const Placement where = placement_of(kv, op, "kv");
  expect_kv_cache(k_cache, v_cache, where, op);
  const int64_t tokens = kv.dim(0), kv_heads = k_cache.dim(2), head_dim = k_cache.dim(3), row = kv_heads * head_dim;
  expect_shape(kv, {tokens, 2 * row}, op, "kv");
  expect_paged_batch(batch, k_cache, tokens, where.device, op, /*window=*/1);  // writes touch only their own slots
  GENRT_ON_CUDA(where, cuda_ops::kv_cache_write(kv, batch, k_cache, v_cache));
  Tensor k = Tensor::zeros({tokens, kv_heads, head_dim}, DType::f32), v = Tensor::zeros(k.shape(), DType::f32);
  for (int64_t t = 0; t < tokens; ++t) {
    std::copy_n(kv.data<float>() + t * 2 * row, row, k.data<float>() + t * row);
    std::copy_n(kv.data<float>() + t * 2 * row + row, row, v.data<float>() + t * row);
  }
  write_kv_rows(k, v, batch, k_cache, v_cache);
}

}  // namespace genrt::ops
