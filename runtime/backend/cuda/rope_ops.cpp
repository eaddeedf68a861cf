#include "runtime/backend/cuda/cuda_ops.h"

#include "kernels/rope_kv_write.cuh"
#include "runtime/backend/cuda/cuda_context.h"
#include "runtime/backend/cuda/storage_type.h"

namespace genrt::cuda_ops {

namespace {

// The rope/KV-cache kernel over `rows` [tokens, (q_heads + 2 kv_heads) * head_dim], the
// queries going to `q` ([tokens, q_heads, head_dim]; none: rows of keys and values only).
void write_rows(const Tensor& rows, const PagedBatch& batch, const Tensor& inv_freq, ref::RopeLayout layout,
                const Tensor* q, Tensor& k_cache, Tensor& v_cache) {
  using ops::data_or_null;
  with_storage_type(rows.dtype(), [&]<class T>() {
    const kernels::RopeKvLaunch<T> launch{.qkv = data_or_null<T>(rows),
                                          .q = q != nullptr ? data_or_null<T>(*q) : nullptr,
                                          .k_cache = data_or_null<T>(k_cache),
                                          .v_cache = data_or_null<T>(v_cache),
                                          .positions = data_or_null<int32_t>(batch.positions),
                                          .slots = data_or_null<int32_t>(batch.slots),
                                          .inv_freq = data_or_null<float>(inv_freq),
                                          .tokens = rows.dim(0),
                                          .q_heads = q != nullptr ? q->dim(1) : 0,
                                          .kv_heads = k_cache.dim(2),
                                          .head_dim = k_cache.dim(3),
                                          .layout = layout};
    check_cuda(kernels::launch_rope_kv_write(launch, current_stream()), "rope/KV-cache kernel");
  });
}

}  // namespace

void qkv_cache_write(const Tensor& qkv, const PagedBatch& batch, const Tensor& inv_freq, ref::RopeLayout layout,
                     Tensor& q, Tensor& k_cache, Tensor& v_cache) {
  write_rows(qkv, batch, inv_freq, layout, &q, k_cache, v_cache);
}

void kv_cache_write(const Tensor& kv, const PagedBatch& batch, Tensor& k_cache, Tensor& v_cache) {
  write_rows(kv, batch, Tensor(), ref::RopeLayout::rotate_half, nullptr, k_cache, v_cache);
}

}  // namespace genrt::cuda_ops
