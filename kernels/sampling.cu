#include "kernels/sampling.cuh"

#include <cstdint>

#include "kernels/block_reduce.cuh"

namespace genrt::kernels {

namespace {

constexpr int kThreads = ref::kSamplingThreads;
constexpr int kWarps = kThreads / 32;

struct MinOp {
  __device__ int32_t operator()(int32_t a, int32_t b) const { return a < b ? a : b; }
};

// One block per row. Weights are recomputed from the logits on every pass instead of
// stored: a pass is one coalesced read of the row, and nothing needs a vocab-sized buffer.
__global__ void __launch_bounds__(kThreads) sampling_kernel(ref::SamplingArgs a) {
  __shared__ float f_scratch[kWarps];
  __shared__ int32_t i_scratch[kWarps];
  __shared__ float chunk_mass[kThreads];
  const ref::SamplingRow p = a.params[blockIdx.x];
  const float* logits = a.logits + static_cast<int64_t>(blockIdx.x) * a.vocab;

  float local_max = -INFINITY;  // fmaxf skips NaN: a row of NaNs keeps -inf
  for (int64_t i = threadIdx.x; i < a.vocab; i += kThreads) local_max = fmaxf(local_max, logits[i]);
  const float max_logit = block_reduce<kThreads>(local_max, f_scratch, MaxOp{});

  if (p.temperature == 0.0f) {  // greedy: the first token at the maximum (ref::argmax); 0 for a row of NaNs
    int32_t first = INT32_MAX;
    for (int64_t i = threadIdx.x; i < a.vocab; i += kThreads) {
      if (logits[i] == max_logit) {
        first = static_cast<int32_t>(i);
        break;
      }
    }
    first = block_reduce<kThreads>(first, i_scratch, MinOp{});
    if (threadIdx.x == 0) a.out[blockIdx.x] = first == INT32_MAX ? 0 : first;
    return;
  }

  const float inv_t = 1.0f / p.temperature;
  const auto weight = [&](int64_t i) { return ref::sampling_weight(logits[i], max_logit, inv_t); };
  const auto count_at_least = [&](float tau) {
    int32_t count = 0;
    for (int64_t i = threadIdx.x; i < a.vocab; i += kThreads) count += weight(i) >= tau ? 1 : 0;
    return block_reduce<kThreads>(count, i_scratch, SumOp{});
  };
  const auto mass_at_least = [&](float tau) {
    float mass = 0.0f;
    for (int64_t i = threadIdx.x; i < a.vocab; i += kThreads) {
      const float w = weight(i);
      if (w >= tau) mass += w;
    }
    return block_reduce<kThreads>(mass, f_scratch, SumOp{});
  };
  const float total = mass_at_least(0.0f);
  const float threshold = ref::keep_threshold(p, a.vocab, total, count_at_least, mass_at_least);

  // The draw: each thread owns a contiguous chunk of the vocabulary; thread 0 adds the
  // chunks' kept masses in order and walks them to the drawn token.
  const int64_t chunk = (a.vocab + kThreads - 1) / kThreads;
  const int64_t begin = threadIdx.x * chunk, end = begin + chunk < a.vocab ? begin + chunk : a.vocab;
  float mine = 0.0f;
  for (int64_t i = begin; i < end; ++i) {
    const float w = weight(i);
    if (w >= threshold) mine += w;
  }
  chunk_mass[threadIdx.x] = mine;
  __syncthreads();
  if (threadIdx.x == 0) {
    float kept_mass = 0.0f;
    for (int t = 0; t < kThreads; ++t) kept_mass += chunk_mass[t];
    const float u = ref::sampling_draw_point(p.seed, p.step, kept_mass);
    const int64_t token = ref::pick_kept_token(u, chunk_mass, kThreads, chunk, a.vocab, threshold, weight);
    a.out[blockIdx.x] = static_cast<int32_t>(token >= 0 ? token : 0);
  }
}

}  // namespace

cudaError_t launch_sampling(const ref::SamplingArgs& a, cudaStream_t stream) {
  if (a.rows == 0) return cudaSuccess;
  if (a.rows < 0 || a.rows > 0x7fffffff || a.vocab <= 0 || a.vocab > INT32_MAX || a.logits == nullptr ||
      a.params == nullptr || a.out == nullptr) {
    return cudaErrorInvalidValue;
  }
  sampling_kernel<<<static_cast<unsigned>(a.rows), kThreads, 0, stream>>>(a);
  return cudaGetLastError();
}

}  // namespace genrt::kernels
