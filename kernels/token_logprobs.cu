#include "kernels/token_logprobs.cuh"

#include <cstdint>

#include "kernels/block_reduce.cuh"

namespace genrt::kernels {

namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;

// A candidate for the next top token; id -1: none.
struct Candidate {
  float logit;
  int32_t id;
};

__device__ __forceinline__ Candidate shfl_xor(Candidate c, int offset) {
  return {kernels::shfl_xor(c.logit, offset), kernels::shfl_xor(c.id, offset)};
}

struct BetterOp {
  __device__ Candidate operator()(Candidate a, Candidate b) const {
    if (b.id < 0) return a;
    if (a.id < 0) return b;
    return ref::ranks_before(b.logit, b.id, a.logit, a.id) ? b : a;
  }
};

__global__ void __launch_bounds__(kThreads) token_logprobs_kernel(ref::TokenLogprobsArgs a) {
  __shared__ float f_scratch[kWarps];
  __shared__ double d_scratch[kWarps];
  __shared__ Candidate c_scratch[kWarps];
  const int64_t request = blockIdx.x;
  const int32_t row = a.rows[request];
  if (row < 0 || row >= a.logit_rows) {  // the whole block returns together
    if (threadIdx.x == 0) a.logprob[request] = NAN;
    return;
  }
  const float* logits = a.logits + static_cast<int64_t>(row) * a.vocab;

  float local_max = -INFINITY;
  for (int64_t i = threadIdx.x; i < a.vocab; i += kThreads) local_max = fmaxf(local_max, logits[i]);
  const float max_logit = block_reduce<kThreads>(local_max, f_scratch, MaxOp{});
  double local_sum = 0.0;
  for (int64_t i = threadIdx.x; i < a.vocab; i += kThreads) local_sum += ref::softmax_term(logits[i], max_logit);
  const float log_z = ref::log_normalizer(max_logit, block_reduce<kThreads>(local_sum, d_scratch, SumOp{}));
  if (threadIdx.x == 0) {
    const int32_t chosen = a.chosen[row];
    a.logprob[request] = chosen >= 0 && chosen < a.vocab ? logits[chosen] - log_z : NAN;
  }

  // Top token k is the best of those ranking after top token k - 1: one pass each, until
  // the non-NaN tokens run out (the same for the whole block).
  Candidate previous{0.0f, -1};
  for (int64_t k = 0; k < a.top_n; ++k) {
    Candidate best{0.0f, -1};
    if (k == 0 || previous.id >= 0) {
      for (int64_t i = threadIdx.x; i < a.vocab; i += kThreads) {
        const float l = logits[i];
        const auto id = static_cast<int32_t>(i);
        if (l != l || (k > 0 && !ref::ranks_before(previous.logit, previous.id, l, id))) continue;
        best = BetterOp{}(best, {l, id});
      }
      best = block_reduce<kThreads>(best, c_scratch, BetterOp{});
    }
    if (threadIdx.x == 0) {
      a.top_ids[request * a.top_n + k] = best.id;
      a.top_logprobs[request * a.top_n + k] = best.id >= 0 ? best.logit - log_z : -INFINITY;
    }
    previous = best;
  }
}

}  // namespace

cudaError_t launch_token_logprobs(const ref::TokenLogprobsArgs& a, cudaStream_t stream) {
  if (a.rows_n == 0) return cudaSuccess;
  if (a.rows_n < 0 || a.rows_n > 0x7fffffff || a.vocab <= 0 || a.vocab > INT32_MAX || a.top_n < 0 ||
      a.top_n > ref::kMaxTopLogprobs || a.logits == nullptr || a.chosen == nullptr || a.rows == nullptr ||
      a.logprob == nullptr || (a.top_n > 0 && (a.top_ids == nullptr || a.top_logprobs == nullptr))) {
    return cudaErrorInvalidValue;
  }
  token_logprobs_kernel<<<static_cast<unsigned>(a.rows_n), kThreads, 0, stream>>>(a);
  return cudaGetLastError();
}

}  // namespace genrt::kernels
