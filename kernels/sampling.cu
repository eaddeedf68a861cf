#include "kernels/sampling.cuh"

#include <cfloat>

#include "kernels/ref/philox.h"

namespace genrt::kernels {

namespace {

constexpr int kThreads = 512;
// Bisection steps for each threshold: 40 halvings of [0, p_max] resolve it far below the
// fp32 spacing of any probability that matters.
constexpr int kBisections = 40;

template <class Op>
__device__ float block_reduce(float v, float* scratch, Op op) {
  for (int offset = 16; offset > 0; offset /= 2) v = op(v, __shfl_xor_sync(0xffffffffu, v, offset));
  __syncthreads();
  if (threadIdx.x % 32 == 0) scratch[threadIdx.x / 32] = v;
  __syncthreads();
  v = scratch[0];
  for (int w = 1; w < kThreads / 32; ++w) v = op(v, scratch[w]);
  return v;
}

struct Sum {
  __device__ float operator()(float a, float b) const { return a + b; }
};
struct Max {
  __device__ float operator()(float a, float b) const { return fmaxf(a, b); }
};

// One block per row. Probabilities are recomputed from the logits on every pass instead of
// stored: a pass is one coalesced read of the row, and nothing needs a vocab-sized buffer.
__global__ void __launch_bounds__(kThreads) sampling_kernel(SamplingLaunch a) {
  __shared__ float scratch[kThreads / 32];
  __shared__ float chunk_mass[kThreads];
  const float* logits = a.logits + static_cast<int64_t>(blockIdx.x) * a.vocab;
  const float inv_t = 1.0f / a.temperature;

  float local_max = -FLT_MAX;
  for (int64_t i = threadIdx.x; i < a.vocab; i += kThreads) local_max = fmaxf(local_max, logits[i]);
  const float max_logit = block_reduce(local_max, scratch, Max{});
  // Unnormalized probability. The largest logit's weight is exactly 1 (min-p's threshold
  // is relative to it, so min_p = 1 must keep it): computed as exp(l * inv_t - m * inv_t)
  // the compiler fuses one product into an FMA and the top weight lands a rounding below 1.
  // NaN logits weigh 0, so every pass below excludes them alike.
  auto weight = [&](int64_t i) {
    const float l = logits[i];
    if (l == max_logit) return 1.0f;
    const float w = __expf((l - max_logit) * inv_t);
    return w == w ? w : 0.0f;
  };
  float local_sum = 0.0f;
  for (int64_t i = threadIdx.x; i < a.vocab; i += kThreads) local_sum += weight(i);
  const float total = block_reduce(local_sum, scratch, Sum{});  // the largest weight is 1

  // Count and mass of the tokens whose weight is at least tau.
  auto kept = [&](float tau, float* mass) {
    float count = 0.0f, m = 0.0f;
    for (int64_t i = threadIdx.x; i < a.vocab; i += kThreads) {
      const float w = weight(i);
      if (w >= tau) count += 1.0f, m += w;
    }
    *mass = block_reduce(m, scratch, Sum{});
    return block_reduce(count, scratch, Sum{});
  };
  float threshold = a.min_p;  // min-p is relative to the largest weight, which is 1
  if (a.top_k > 0 && a.top_k < a.vocab) {
    float lo = 0.0f, hi = 1.0f, mass;  // keep the largest tau with at least k tokens
    for (int it = 0; it < kBisections; ++it) {
      const float mid = 0.5f * (lo + hi);
      if (kept(mid, &mass) >= static_cast<float>(a.top_k)) lo = mid; else hi = mid;
    }
    threshold = fmaxf(threshold, lo);
  }
  if (a.top_p < 1.0f) {
    float lo = 0.0f, hi = 1.0f, mass;  // the largest tau whose kept mass still reaches top_p
    for (int it = 0; it < kBisections; ++it) {
      const float mid = 0.5f * (lo + hi);
      kept(mid, &mass);
      if (mass >= a.top_p * total) lo = mid; else hi = mid;
    }
    threshold = fmaxf(threshold, lo);
  }

  // Draw u in [0, kept mass), then find the token where the running mass (in token-id
  // order) passes u: each thread owns a contiguous chunk of the vocabulary.
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
    // A uniform in [0, 1) from the raw bits of Philox block `step` of stream `row`.
    const ref::Philox4 r = ref::philox4x32_10(
        {{static_cast<uint32_t>(a.step), static_cast<uint32_t>(a.step >> 32), blockIdx.x, 0u}}, a.seed);
    float u = static_cast<float>((static_cast<double>(r.v[0]) * 0x1.0p-32) * kept_mass);
    // Rounding can leave u at or past the kept mass (a draw within 2^-25 of 1 rounds to
    // 1.0f; the chunk sums round too). Then the search ends in the last chunk that keeps a
    // token, on its last kept token: never in an empty chunk, never at token 0 by default.
    int t = -1;
    for (int c = 0; c < kThreads; ++c) {
      if (!(chunk_mass[c] > 0.0f)) continue;
      t = c;
      if (u < chunk_mass[c]) break;
      u -= chunk_mass[c];
    }
    int64_t token = -1;
    const int64_t chunk_end = t >= 0 && (t + 1) * chunk < a.vocab ? (t + 1) * chunk : a.vocab;
    for (int64_t i = t >= 0 ? t * chunk : a.vocab; i < chunk_end; ++i) {
      const float w = weight(i);
      if (!(w > 0.0f) || w < threshold) continue;  // never a token of probability 0
      token = i;
      if (u < w) break;
      u -= w;
    }
    a.out[blockIdx.x] = static_cast<int32_t>(token >= 0 ? token : 0);
  }
}

}  // namespace

cudaError_t launch_sampling(const SamplingLaunch& a, cudaStream_t stream) {
  if (a.rows == 0) return cudaSuccess;
  if (a.rows < 0 || a.rows > 0x7fffffff || a.vocab <= 0 || a.vocab > INT32_MAX || !(a.temperature > 0.0f) ||
      a.top_k < 0 || !(a.top_p > 0.0f && a.top_p <= 1.0f) || !(a.min_p >= 0.0f && a.min_p <= 1.0f)) {
    return cudaErrorInvalidValue;
  }
  sampling_kernel<<<static_cast<unsigned>(a.rows), kThreads, 0, stream>>>(a);
  return cudaGetLastError();
}

}  // namespace genrt::kernels
