#pragma once
// Embedding gather on the GPU: out[i, :] = table[ids[i], :].

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime_api.h>

#include <cstdint>

namespace genrt::kernels {

// T is float, __half or __nv_bfloat16. Rows whose id is outside [0, vocab) are written
// as zeros (the op entry rejects such ids before launching; the kernel never reads out
// of bounds regardless).
template <class T>
cudaError_t launch_embedding(const T* table,      // [vocab, dim]
                             const int32_t* ids,  // [n]
                             T* out,              // [n, dim]
                             int64_t n, int64_t dim, int64_t vocab, cudaStream_t stream);

}  // namespace genrt::kernels
