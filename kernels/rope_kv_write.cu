#include "kernels/rope_kv_write.cuh"

#include "kernels/type_convert.cuh"

namespace genrt::kernels {

namespace {

constexpr int kThreads = 128;
// Rotations per head a block takes: head dims up to 512.
constexpr int64_t kMaxRotaryPairs = 256;

// Rotates pair `i` of the head at `src` by (cos_a, sin_a) and writes it at `dst`.
template <class T>
__device__ void rotate_pair(const T* src, T* dst, int64_t i, int64_t half, ref::RopeLayout layout, float cos_a,
                            float sin_a) {
  const int64_t i0 = layout == ref::RopeLayout::rotate_half ? i : 2 * i;
  const int64_t i1 = layout == ref::RopeLayout::rotate_half ? i + half : 2 * i + 1;
  const float x0 = to_float(src[i0]), x1 = to_float(src[i1]);
  dst[i0] = from_float<T>(x0 * cos_a - x1 * sin_a);
  dst[i1] = from_float<T>(x0 * sin_a + x1 * cos_a);
}

// One block per token: the token's angles are computed once (every head rotates by the
// same ones), then threads stride over the (head, pair) rotations of q and k (or the
// copies of their features), then over the value row.
template <class T>
__global__ void __launch_bounds__(kThreads) rope_kv_write_kernel(RopeKvLaunch<T> a) {
  const int64_t t = blockIdx.x;
  const int64_t half = a.head_dim / 2;
  const int64_t q_row = a.q_heads * a.head_dim, kv_row = a.kv_heads * a.head_dim;
  const T* q_src = a.qkv + t * (q_row + 2 * kv_row);
  const T* k_src = q_src + q_row;
  const T* v_src = k_src + kv_row;
  T* q_dst = a.q + t * q_row;
  T* k_dst = a.k_cache + static_cast<int64_t>(a.slots[t]) * kv_row;
  T* v_dst = a.v_cache + static_cast<int64_t>(a.slots[t]) * kv_row;
  if (a.inv_freq == nullptr) {
    for (int64_t j = threadIdx.x; j < q_row; j += kThreads) q_dst[j] = q_src[j];
    for (int64_t j = threadIdx.x; j < kv_row; j += kThreads) k_dst[j] = k_src[j];
  } else {
    __shared__ float cos_of[kMaxRotaryPairs], sin_of[kMaxRotaryPairs];
    const auto position = static_cast<float>(a.positions[t]);
    for (int64_t i = threadIdx.x; i < half; i += kThreads) {
      sincosf(position * a.inv_freq[i], &sin_of[i], &cos_of[i]);  // accurate: angles reach 1e5 rad
    }
    __syncthreads();  // uniform: inv_freq is the launch's
    const int64_t q_pairs = a.q_heads * half, pairs = q_pairs + a.kv_heads * half;
    for (int64_t p = threadIdx.x; p < pairs; p += kThreads) {
      const bool is_q = p < q_pairs;
      const int64_t pair = is_q ? p : p - q_pairs, offset = pair / half * a.head_dim, i = pair % half;
      if (is_q) {
        rotate_pair(q_src + offset, q_dst + offset, i, half, a.layout, cos_of[i], sin_of[i]);
      } else {
        rotate_pair(k_src + offset, k_dst + offset, i, half, a.layout, cos_of[i], sin_of[i]);
      }
    }
  }
  for (int64_t j = threadIdx.x; j < kv_row; j += kThreads) v_dst[j] = v_src[j];
}

}  // namespace

template <class T>
cudaError_t launch_rope_kv_write(const RopeKvLaunch<T>& a, cudaStream_t stream) {
  if (a.tokens == 0) return cudaSuccess;
  if (a.tokens > 0x7fffffff || a.head_dim <= 0 ||
      (a.inv_freq != nullptr && (a.head_dim % 2 != 0 || a.head_dim / 2 > kMaxRotaryPairs || a.q_heads == 0)) ||
      a.q_heads < 0 || a.kv_heads <= 0 || a.qkv == nullptr || (a.q == nullptr && a.q_heads > 0)) {
    return cudaErrorInvalidValue;
  }
  rope_kv_write_kernel<T><<<static_cast<unsigned>(a.tokens), kThreads, 0, stream>>>(a);
  return cudaGetLastError();
}

template cudaError_t launch_rope_kv_write<float>(const RopeKvLaunch<float>&, cudaStream_t);
template cudaError_t launch_rope_kv_write<__half>(const RopeKvLaunch<__half>&, cudaStream_t);
template cudaError_t launch_rope_kv_write<__nv_bfloat16>(const RopeKvLaunch<__nv_bfloat16>&, cudaStream_t);

}  // namespace genrt::kernels
