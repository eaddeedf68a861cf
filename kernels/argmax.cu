#include "kernels/argmax.cuh"

#include <cmath>

namespace genrt::kernels {

namespace {

constexpr int kThreads = 256;

struct Best {
  float value;
  int32_t index;
};

// No candidate yet (or only NaNs): index kNone.
constexpr int32_t kNone = INT32_MAX;

// The better of two candidates: any over none, then the larger value, then the lower index.
__device__ __forceinline__ Best better(Best a, Best b) {
  if (b.index == kNone) return a;
  if (a.index == kNone || b.value > a.value || (b.value == a.value && b.index < a.index)) return b;
  return a;
}

// One block per row: each thread scans a strided slice, then the block reduces.
__global__ void __launch_bounds__(kThreads) argmax_kernel(const float* logits, int32_t* out, int64_t vocab) {
  const float* row = logits + static_cast<int64_t>(blockIdx.x) * vocab;
  Best best{-INFINITY, kNone};
  for (int64_t i = threadIdx.x; i < vocab; i += kThreads) {
    const float v = row[i];
    if (!isnan(v)) best = better(best, {v, static_cast<int32_t>(i)});
  }
  for (int offset = 16; offset > 0; offset /= 2) {
    const Best other{__shfl_xor_sync(0xffffffffu, best.value, offset), __shfl_xor_sync(0xffffffffu, best.index, offset)};
    best = better(best, other);
  }
  __shared__ Best warp_best[kThreads / 32];
  if (threadIdx.x % 32 == 0) warp_best[threadIdx.x / 32] = best;
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int w = 1; w < kThreads / 32; ++w) best = better(best, warp_best[w]);
    // A row of NaNs still names a token, like the reference: index 0.
    out[blockIdx.x] = best.index == kNone ? 0 : best.index;
  }
}

}  // namespace

cudaError_t launch_argmax(const float* logits, int32_t* out, int64_t rows, int64_t vocab, cudaStream_t stream) {
  if (rows == 0) return cudaSuccess;
  if (rows < 0 || rows > 0x7fffffff || vocab <= 0 || vocab > INT32_MAX) return cudaErrorInvalidValue;
  argmax_kernel<<<static_cast<unsigned>(rows), kThreads, 0, stream>>>(logits, out, vocab);
  return cudaGetLastError();
}

}  // namespace genrt::kernels
