#include "kernels/paged_attention.cuh"

#include <cfloat>

#include "kernels/type_convert.cuh"

namespace genrt::kernels {

namespace {

// The baseline kernel: one warp per (query token, head). Each lane holds head_dim / 32 of
// the query and of the output accumulator (kPerLane elements, strided by 32 so that a
// warp's loads of a key row are coalesced); keys are visited in order with an online
// softmax, so no score matrix is ever stored. Exact and simple; the flash kernels of the
// attention issue replace it for speed.
constexpr int kWarpsPerBlock = 4;

__device__ __forceinline__ float warp_sum(float v) {
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

template <class T, int kPerLane>
__global__ void __launch_bounds__(kWarpsPerBlock * 32) paged_attention_kernel(PagedAttentionLaunch<T> a) {
  const int64_t token = blockIdx.x;
  const int64_t head = static_cast<int64_t>(blockIdx.y) * kWarpsPerBlock + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (head >= a.q_heads) return;

  // The sequence owning this token: the last s with query_start[s] <= token.
  int64_t lo = 0, hi = a.seqs - 1;
  while (lo < hi) {
    const int64_t mid = (lo + hi + 1) / 2;
    if (a.query_start[mid] <= token) lo = mid; else hi = mid - 1;
  }
  const int64_t seq = lo;
  const int64_t n_new = a.query_start[seq + 1] - a.query_start[seq];
  const int64_t position = a.context_lens[seq] - n_new + (token - a.query_start[seq]);
  const int32_t* blocks = a.block_tables + seq * a.max_blocks_per_seq;
  const int64_t kv_head = head / (a.q_heads / a.kv_heads);
  const int64_t kv_row = a.kv_heads * a.head_dim;

  float q[kPerLane], acc[kPerLane];
  const T* q_row = a.q + (token * a.q_heads + head) * a.head_dim;
  for (int j = 0; j < kPerLane; ++j) {
    const int64_t d = lane + 32 * j;
    q[j] = d < a.head_dim ? to_float(q_row[d]) * a.scale : 0.0f;
    acc[j] = 0.0f;
  }
  float running_max = -FLT_MAX, denominator = 0.0f;
  for (int64_t p = 0; p <= position; ++p) {
    const int64_t slot = static_cast<int64_t>(blocks[p / a.block_size]) * a.block_size + p % a.block_size;
    const T* k = a.k_cache + slot * kv_row + kv_head * a.head_dim;
    const T* v = a.v_cache + slot * kv_row + kv_head * a.head_dim;
    float dot = 0.0f;
    for (int j = 0; j < kPerLane; ++j) {
      const int64_t d = lane + 32 * j;
      if (d < a.head_dim) dot += q[j] * to_float(k[d]);
    }
    const float score = warp_sum(dot);
    const float new_max = fmaxf(running_max, score);
    const float correction = __expf(running_max - new_max), weight = __expf(score - new_max);
    denominator = denominator * correction + weight;
    for (int j = 0; j < kPerLane; ++j) {
      const int64_t d = lane + 32 * j;
      acc[j] = acc[j] * correction + (d < a.head_dim ? weight * to_float(v[d]) : 0.0f);
    }
    running_max = new_max;
  }
  T* out = a.out + (token * a.q_heads + head) * a.head_dim;
  for (int j = 0; j < kPerLane; ++j) {
    const int64_t d = lane + 32 * j;
    if (d < a.head_dim) out[d] = from_float<T>(acc[j] / denominator);
  }
}

template <class T, int kPerLane>
void launch(const PagedAttentionLaunch<T>& a, cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>(a.tokens), static_cast<unsigned>((a.q_heads + kWarpsPerBlock - 1) / kWarpsPerBlock));
  paged_attention_kernel<T, kPerLane><<<grid, kWarpsPerBlock * 32, 0, stream>>>(a);
}

}  // namespace

template <class T>
cudaError_t launch_paged_attention(const PagedAttentionLaunch<T>& a, cudaStream_t stream) {
  if (a.tokens == 0) return cudaSuccess;
  if (a.tokens > 0x7fffffff || a.seqs <= 0 || a.head_dim <= 0 || a.head_dim > 256 || a.kv_heads <= 0 ||
      a.q_heads % a.kv_heads != 0 || a.block_size <= 0) {
    return cudaErrorInvalidValue;
  }
  // Per-lane register arrays sized to the head dim (dispatch in one place).
  switch ((a.head_dim + 31) / 32) {
    case 1: launch<T, 1>(a, stream); break;
    case 2: launch<T, 2>(a, stream); break;
    case 3: launch<T, 3>(a, stream); break;
    case 4: launch<T, 4>(a, stream); break;
    case 5:
    case 6: launch<T, 6>(a, stream); break;
    default: launch<T, 8>(a, stream); break;
  }
  return cudaGetLastError();
}

template cudaError_t launch_paged_attention<float>(const PagedAttentionLaunch<float>&, cudaStream_t);
template cudaError_t launch_paged_attention<__half>(const PagedAttentionLaunch<__half>&, cudaStream_t);
template cudaError_t launch_paged_attention<__nv_bfloat16>(const PagedAttentionLaunch<__nv_bfloat16>&, cudaStream_t);

}  // namespace genrt::kernels
