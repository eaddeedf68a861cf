#include "runtime/backend/rope_ops.h"

#include "kernels/ref/kv_cache_write.h"
#include "runtime/backend/cuda_dispatch.h"
#include "runtime/backend/paged_batch_checks.h"

namespace genrt::ops {

namespace {

// k, v [tokens, kv_heads, head_dim] matching the cache, with the step's metadata.
Placement expect_kv_rows(const Tensor& k, const Tensor& v, const PagedBatch& batch, const Tensor& k_cache,
                         const Tensor& v_cache, const char* op) {
  const Placement where = placement_of(k, op, "k");
  expect_on(v, where, op, "v");
  expect_kv_cache(k_cache, v_cache, where, op);
  expect_shape(k, {k.dim(0), k_cache.dim(2), k_cache.dim(3)}, op, "k");
  expect_shape(v, k.shape(), op, "v");
  expect_paged_batch(batch, k_cache, k.dim(0), where.device, op, /*window=*/1);  // writes touch only their own slots
  return where;
}

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

void kv_cache_write(const Tensor& k, const Tensor& v, const PagedBatch& batch, Tensor& k_cache, Tensor& v_cache) {
  [[maybe_unused]] const Placement where = expect_kv_rows(k, v, batch, k_cache, v_cache, "kv_cache_write");
  GENRT_ON_CUDA(where, cuda_ops::rope_kv_write(nullptr, k, v, batch, Tensor(), ref::RopeLayout::rotate_half,
                                               k_cache, v_cache));
  write_kv_rows(k, v, batch, k_cache, v_cache);
}

void rope_kv_write(Tensor& q, Tensor& k, const Tensor& v, const PagedBatch& batch, const Tensor& inv_freq,
                   ref::RopeLayout layout, Tensor& k_cache, Tensor& v_cache) {
  const char* op = "rope_kv_write";
  const Placement where = expect_kv_rows(k, v, batch, k_cache, v_cache, op);
  expect_on(q, where, op, "q");
  GENRT_CHECK(q.rank() == 3 && q.dim(0) == k.dim(0) && q.dim(2) == k.dim(2),
              "{}: q {} must be [tokens, heads, head_dim] like k {}", op, shape_string(q.shape()),
              shape_string(k.shape()));
  GENRT_CHECK(k.dim(2) % 2 == 0, "{}: head_dim {} must be even", op, k.dim(2));
  expect_on(inv_freq, {where.device, DType::f32}, op, "inv_freq");
  expect_shape(inv_freq, {k.dim(2) / 2}, op, "inv_freq");
  GENRT_ON_CUDA(where, cuda_ops::rope_kv_write(&q, k, v, batch, inv_freq, layout, k_cache, v_cache));
  // Everything is checked: run the references directly rather than re-checking through
  // the rope and kv_cache_write entries (this runs for every layer of every step).
  const int32_t* positions = batch.positions.data<int32_t>();
  ref::rope(q.data<float>(), positions, inv_freq.data<float>(), q.dim(0), q.dim(1), q.dim(2), layout);
  ref::rope(k.data<float>(), positions, inv_freq.data<float>(), k.dim(0), k.dim(1), k.dim(2), layout);
  write_kv_rows(k, v, batch, k_cache, v_cache);
}

}  // namespace genrt::ops
