#include "runtime/backend/cuda/cuda_ops.h"

#include "kernels/embedding.cuh"
#include "kernels/sampled_ids.cuh"
#include "runtime/backend/cuda/cuda_context.h"
#include "runtime/backend/cuda/storage_type.h"

namespace genrt::cuda_ops {

void embedding(const Tensor& table, const Tensor& ids, Tensor& out) {
  using ops::data_or_null;
  with_storage_type(table.dtype(), [&]<class T>() {
    check_cuda(kernels::launch_embedding(data_or_null<T>(table), data_or_null<int32_t>(ids), data_or_null<T>(out),
                                         ids.numel(), table.dim(1), table.dim(0), current_stream()),
               "embedding kernel");
  });
}

void take_sampled_ids(const Tensor& sampled, const Tensor& from, Tensor& ids) {
  using ops::data_or_null;
  check_cuda(kernels::launch_take_sampled_ids(data_or_null<int32_t>(sampled), data_or_null<int32_t>(from),
                                              data_or_null<int32_t>(ids), ids.numel(), current_stream()),
             "sampled-ids kernel");
}

}  // namespace genrt::cuda_ops
