#include "kernels/dense_attention.cuh"

#include <type_traits>

#include "kernels/attention_kernels.h"
#include "kernels/flash_attention.cuh"
#include "kernels/warp_attention.cuh"

namespace genrt::kernels {

namespace {

// One warp per (query row, head) over every key of the row's sequence (warp_attend): the
// fallback for fp32 and head dims the tensor-core kernel lacks.
template <class T, int kPerLane>
__global__ void __launch_bounds__(kWarpAttentionWarps * 32) dense_attention_kernel(DenseAttentionLaunch<T> a) {
  const int64_t row = blockIdx.x;  // batch * tokens + token
  const int64_t head = static_cast<int64_t>(blockIdx.y) * kWarpAttentionWarps + threadIdx.x / 32;
  if (head >= a.q_heads) return;
  const int64_t first_key = (row / a.tokens) * a.kv_tokens;
  const int64_t kv_row = a.kv_heads * a.head_dim;
  const int64_t kv_offset = (head / (a.q_heads / a.kv_heads)) * a.head_dim;
  auto key_row = [&](int64_t p) { return (first_key + p) * kv_row + kv_offset; };
  auto key_bias = [&](int64_t p) { return position_bias(a.bias, a.bias_starts, p - row % a.tokens, head, a.q_heads); };
  const int64_t q_offset = (row * a.q_heads + head) * a.head_dim;
  warp_attend<T, kPerLane>(a.q + q_offset, a.k, a.v, a.kv_tokens, key_row, key_bias, a.head_dim, a.scale,
                           a.out + q_offset);
}

template <class T>
cudaError_t launch_warp_attention(const DenseAttentionLaunch<T>& a, cudaStream_t stream) {
  const int64_t rows = a.batch * a.tokens;
  if (rows > 0x7fffffff || a.kv_heads <= 0 || a.q_heads % a.kv_heads != 0 || head_blocks(a.q_heads) == 0) {
    return cudaErrorInvalidValue;
  }
  const dim3 grid(static_cast<unsigned>(rows), head_blocks(a.q_heads));
  const bool launched = with_per_lane_width(a.head_dim, [&]<int kPerLane>() {
    dense_attention_kernel<T, kPerLane><<<grid, kWarpAttentionWarps * 32, 0, stream>>>(a);
  });
  return launched ? cudaGetLastError() : cudaErrorInvalidValue;
}

}  // namespace

template <class T>
cudaError_t launch_dense_attention(const DenseAttentionLaunch<T>& a, cudaStream_t stream) {
  if (a.batch == 0 || a.tokens == 0) return cudaSuccess;
  const AttentionShape shape{.tensor_core_dtype = !std::is_same_v<T, float>,
                       .head_dim = a.head_dim,
                       .q_heads = a.q_heads,
                       .kv_heads = a.kv_heads,
                       .vectors_aligned = vectors_aligned(a.q, a.out, a.k, a.v),
                       .sm90a_built = kSm90aBuilt};
  if (a.kv_tokens < 0) return cudaErrorInvalidValue;
  // The tensor-core kernels take no relative position bias (T5's small heads are few).
  if (a.bias.table != nullptr) return launch_warp_attention(a, stream);
  AttentionKernel kernel = AttentionKernel::unsupported;
  DeviceFacts device;
  if (const cudaError_t status = choose_attention_kernel(shape, a.max_compute_capability, kernel, device);
      status != cudaSuccess) {
    return status;
  }
  switch (kernel) {
    case AttentionKernel::warp: return launch_warp_attention(a, stream);
    case AttentionKernel::flash_prefill:
      if constexpr (!std::is_same_v<T, float>) return launch_flash_prefill(a, stream);
      break;
    case AttentionKernel::flash_prefill_sm90:
      // Without keys there is nothing for TMA to describe; the sm_80 kernel writes the zeros.
      if constexpr (!std::is_same_v<T, float>) {
        return a.kv_tokens > 0 ? launch_flash_prefill_sm90(a, stream) : launch_flash_prefill(a, stream);
      }
      break;
    default: break;
  }
  return cudaErrorInvalidValue;
}

template cudaError_t launch_dense_attention<float>(const DenseAttentionLaunch<float>&, cudaStream_t);
template cudaError_t launch_dense_attention<__half>(const DenseAttentionLaunch<__half>&, cudaStream_t);
template cudaError_t launch_dense_attention<__nv_bfloat16>(const DenseAttentionLaunch<__nv_bfloat16>&, cudaStream_t);

}  // namespace genrt::kernels
