#include "runtime/backend/cuda/cuda_ops.h"

#include "kernels/rope_kv_write.cuh"
#include "runtime/backend/cuda/cuda_context.h"
#include "runtime/backend/cuda/storage_type.h"

namespace genrt::cuda_ops {

void qkv_cache_write(const Tensor& qkv, const PagedBatch& batch, const Tensor& inv_freq, ref::RopeLayout layout,
                     Tensor& q, Tensor& k_cache, Tensor& v_cache) {
  using ops::data_or_null;
  with_storage_type(qkv.dtype(), [&]<class T>() {
    const kernels::RopeKvLaunch<T> launch{.qkv = data_or_null<T>(qkv),
                                          .q = data_or_null<T>(q),
                                          .k_cache = data_or_null<T>(k_cache),
                                          .v_cache = data_or_null<T>(v_cache),
                                          .positions = data_or_null<int32_t>(batch.positions),
                                          .slots = data_or_null<int32_t>(batch.slots),
                                          .inv_freq = data_or_null<float>(inv_freq),
                                          .tokens = qkv.dim(0),
                                          .q_heads = q.dim(1),
                                          .kv_heads = k_cache.dim(2),
                                          .head_dim = k_cache.dim(3),
                                          .layout = layout};
    check_cuda(kernels::launch_rope_kv_write(launch, current_stream()), "rope/KV-cache kernel");
  });
}

}  // namespace genrt::cuda_ops
