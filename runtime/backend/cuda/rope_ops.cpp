#include "runtime/backend/cuda/cuda_ops.h"

#include "kernels/rope_kv_write.cuh"
#include "runtime/backend/cuda/cuda_context.h"
#include "runtime/backend/cuda/storage_type.h"

namespace genrt::cuda_ops {

void rope_kv_write(Tensor* q, const Tensor& k, const Tensor& v, const PagedBatch& batch, const Tensor& inv_freq,
                   ref::RopeLayout layout, Tensor& k_cache, Tensor& v_cache) {
  using ops::data_or_null;
  with_storage_type(k.dtype(), [&]<class T>() {
    const kernels::RopeKvLaunch<T> launch{.q = q != nullptr ? data_or_null<T>(*q) : nullptr,
                                          .k = data_or_null<T>(k),
                                          .v = data_or_null<T>(v),
                                          .k_cache = data_or_null<T>(k_cache),
                                          .v_cache = data_or_null<T>(v_cache),
                                          .positions = data_or_null<int32_t>(batch.positions),
                                          .slots = data_or_null<int32_t>(batch.slots),
                                          .inv_freq = data_or_null<float>(inv_freq),
                                          .tokens = k.dim(0),
                                          .q_heads = q != nullptr ? q->dim(1) : k.dim(1),
                                          .kv_heads = k.dim(1),
                                          .head_dim = k.dim(2),
                                          .layout = layout};
    check_cuda(kernels::launch_rope_kv_write(launch, current_stream()), "rope/KV-cache kernel");
  });
}

}  // namespace genrt::cuda_ops
