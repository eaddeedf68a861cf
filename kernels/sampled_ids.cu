#include "kernels/sampled_ids.cuh"

#include "kernels/elementwise.cuh"
#include "kernels/ref/sampled_ids.h"

namespace genrt::kernels {

namespace {

__global__ void __launch_bounds__(kElementwiseThreads)
    take_sampled_ids_kernel(const int32_t* sampled, const int32_t* from, int32_t* ids, int64_t n) {
  for_each_element(n, [&](int64_t t) { ids[t] = ref::taken_id(sampled, from[t], ids[t]); });
}

}  // namespace

cudaError_t launch_take_sampled_ids(const int32_t* sampled, const int32_t* from, int32_t* ids, int64_t n,
                                    cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  if (n < 0 || sampled == nullptr || from == nullptr || ids == nullptr) return cudaErrorInvalidValue;
  take_sampled_ids_kernel<<<elementwise_blocks(n), kElementwiseThreads, 0, stream>>>(sampled, from, ids, n);
  return cudaGetLastError();
}

}  // namespace genrt::kernels
