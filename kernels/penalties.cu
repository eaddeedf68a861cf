#include "kernels/penalties.cuh"

#include <cstdint>

namespace genrt::kernels {

namespace {

constexpr int kThreads = 256;

__global__ void __launch_bounds__(kThreads) penalties_kernel(ref::PenaltyArgs a) {
  const int64_t row = blockIdx.x;
  const float* in = a.logits + row * a.vocab;
  float* out = a.out + row * a.vocab;
  for (int64_t i = threadIdx.x; i < a.vocab; i += kThreads) out[i] = in[i];
  __syncthreads();  // a token's copy is written before its penalized value
  const ref::PenaltyRow p = a.params[row];
  const int64_t begin = p.begin > 0 ? p.begin : 0, end = p.end < a.n_tokens ? p.end : a.n_tokens;
  for (int64_t e = begin + threadIdx.x; e < end; e += kThreads) {
    const ref::PenaltyToken t = a.tokens[e];
    if (t.id >= 0 && t.id < a.vocab) out[t.id] = ref::penalized(in[t.id], p, t);
  }
}

}  // namespace

cudaError_t launch_apply_penalties(const ref::PenaltyArgs& a, cudaStream_t stream) {
  if (a.rows == 0) return cudaSuccess;
  if (a.rows < 0 || a.rows > 0x7fffffff || a.vocab <= 0 || a.n_tokens < 0 || a.logits == nullptr ||
      a.out == nullptr || a.params == nullptr || (a.n_tokens > 0 && a.tokens == nullptr)) {
    return cudaErrorInvalidValue;
  }
  penalties_kernel<<<static_cast<unsigned>(a.rows), kThreads, 0, stream>>>(a);
  return cudaGetLastError();
}

}  // namespace genrt::kernels
