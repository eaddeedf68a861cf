#include "kernels/embedding.cuh"

namespace genrt::kernels {

namespace {

// One block per output row; threads stride over the row in chunks of type Chunk
// (uint4 = 16 bytes when rows are 16-byte aligned, else single elements).
template <class Chunk>
__global__ void embedding_kernel(const Chunk* __restrict__ table, const int32_t* __restrict__ ids,
                                 Chunk* __restrict__ out, int64_t row_chunks, int64_t vocab) {
  const int64_t row = blockIdx.x;
  const int32_t id = ids[row];
  Chunk* dst = out + row * row_chunks;
  if (id < 0 || id >= vocab) {
    for (int64_t i = threadIdx.x; i < row_chunks; i += blockDim.x) dst[i] = Chunk{};
    return;
  }
  const Chunk* src = table + static_cast<int64_t>(id) * row_chunks;
  for (int64_t i = threadIdx.x; i < row_chunks; i += blockDim.x) dst[i] = src[i];
}

}  // namespace

template <class T>
cudaError_t launch_embedding(const T* table, const int32_t* ids, T* out, int64_t n, int64_t dim,
                             int64_t vocab, cudaStream_t stream) {
  if (n == 0 || dim == 0) return cudaSuccess;
  if (n > 0x7fffffff) return cudaErrorInvalidValue;  // grid.x limit
  const int64_t row_bytes = dim * static_cast<int64_t>(sizeof(T));
  const bool vectorized = row_bytes % 16 == 0 && reinterpret_cast<uintptr_t>(table) % 16 == 0 &&
                          reinterpret_cast<uintptr_t>(out) % 16 == 0;
  constexpr int kThreads = 128;
  if (vectorized) {
    embedding_kernel<uint4><<<static_cast<unsigned>(n), kThreads, 0, stream>>>(
        reinterpret_cast<const uint4*>(table), ids, reinterpret_cast<uint4*>(out), row_bytes / 16,
        vocab);
  } else {
    embedding_kernel<T><<<static_cast<unsigned>(n), kThreads, 0, stream>>>(table, ids, out, dim,
                                                                             vocab);
  }
  return cudaGetLastError();
}

template cudaError_t launch_embedding<float>(const float*, const int32_t*, float*, int64_t, int64_t,
                                             int64_t, cudaStream_t);
template cudaError_t launch_embedding<__half>(const __half*, const int32_t*, __half*, int64_t,
                                              int64_t, int64_t, cudaStream_t);
template cudaError_t launch_embedding<__nv_bfloat16>(const __nv_bfloat16*, const int32_t*,
                                                     __nv_bfloat16*, int64_t, int64_t, int64_t,
                                                     cudaStream_t);

}  // namespace genrt::kernels
