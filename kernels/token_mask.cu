#include "kernels/token_mask.cuh"

#include <cstdint>

namespace genrt::kernels {

namespace {

constexpr int kThreads = 256;

__global__ void __launch_bounds__(kThreads) mask_tokens_kernel(ref::TokenMaskArgs a) {
  const int64_t row = blockIdx.x;
  const int64_t token = static_cast<int64_t>(blockIdx.y) * kThreads + threadIdx.x;
  if (token >= a.vocab) return;
  const int64_t i = row * a.vocab + token;
  a.out[i] = ref::masked_logit(a.logits[i], a.allowed + row * a.words, token);
}

}  // namespace

cudaError_t launch_mask_tokens(const ref::TokenMaskArgs& a, cudaStream_t stream) {
  if (a.rows == 0) return cudaSuccess;
  // Rows ride on gridDim.x, the vocabulary's blocks on gridDim.y (at most 65535: 16M tokens).
  const int64_t blocks = (a.vocab + kThreads - 1) / kThreads;
  if (a.rows < 0 || a.rows > 0x7fffffff || a.vocab <= 0 || blocks > 65535 || a.words * 32 < a.vocab ||
      a.logits == nullptr || a.allowed == nullptr || a.out == nullptr) {
    return cudaErrorInvalidValue;
  }
  const dim3 grid(static_cast<unsigned>(a.rows), static_cast<unsigned>(blocks));
  mask_tokens_kernel<<<grid, kThreads, 0, stream>>>(a);
  return cudaGetLastError();
}

}  // namespace genrt::kernels
