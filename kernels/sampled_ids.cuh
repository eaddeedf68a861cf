#pragma once
// The previous step's sampled ids into this step's input ids on the GPU (see
// kernels/ref/sampled_ids.h).

#include <cuda_runtime_api.h>

#include <cstdint>

namespace genrt::kernels {

// ids[t] = sampled[from[t]] where from[t] >= 0. The op entry checked every from[t] against
// the sampled rows on the host.
cudaError_t launch_take_sampled_ids(const int32_t* sampled, const int32_t* from, int32_t* ids, int64_t n,
                                    cudaStream_t stream);

}  // namespace genrt::kernels
