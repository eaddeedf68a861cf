#include "kernels/paged_attention.cuh"

#include <type_traits>
#include <utility>

#include "kernels/attention_kernels.h"
#include "kernels/flash_attention.cuh"
#include "kernels/ref/attention.h"
#include "kernels/warp_attention.cuh"

namespace genrt::kernels {

namespace {

// The baseline kernel: one warp per (query token, head), the keys visited in position
// order (warp_attend). Exact and simple: the fallback for fp32 and for head dims the
// tensor-core kernels lack, and the bench's baseline row.
template <class T, int kPerLane>
__global__ void __launch_bounds__(kWarpAttentionWarps * 32) paged_attention_kernel(PagedAttentionLaunch<T> a) {
  const int64_t token = blockIdx.x;
  const int64_t head = static_cast<int64_t>(blockIdx.y) * kWarpAttentionWarps + threadIdx.x / 32;
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
  const int64_t kv_offset = (head / (a.q_heads / a.kv_heads)) * a.head_dim;
  const int64_t kv_row = a.kv_heads * a.head_dim;
  const int64_t first = ref::first_attended_position(position, a.window);
  auto key_row = [&](int64_t i) {  // the i-th key of the window
    const int64_t p = first + i;
    const int64_t slot = static_cast<int64_t>(blocks[p / a.block_size]) * a.block_size + p % a.block_size;
    return slot * kv_row + kv_offset;
  };
  auto key_bias = [&](int64_t i) { return position_bias(a.bias, a.bias_starts, first + i - position, head, a.q_heads); };
  const int64_t q_offset = (token * a.q_heads + head) * a.head_dim;
  warp_attend<T, kPerLane>(a.q + q_offset, a.k_cache, a.v_cache, position + 1 - first, key_row, key_bias,
                           a.head_dim, a.scale, a.out + q_offset);
}

template <class T>
cudaError_t launch_warp_attention(const PagedAttentionLaunch<T>& a, cudaStream_t stream) {
  if (a.tokens > 0x7fffffff || a.seqs <= 0 || a.kv_heads <= 0 || a.q_heads % a.kv_heads != 0 ||
      a.block_size <= 0 || a.window < 0 || head_blocks(a.q_heads) == 0) {
    return cudaErrorInvalidValue;
  }
  const dim3 grid(static_cast<unsigned>(a.tokens), head_blocks(a.q_heads));
  const bool launched = with_per_lane_width(a.head_dim, [&]<int kPerLane>() {
    paged_attention_kernel<T, kPerLane><<<grid, kWarpAttentionWarps * 32, 0, stream>>>(a);
  });
  return launched ? cudaGetLastError() : cudaErrorInvalidValue;
}

// A mixed batch cut after its leading one-token sequences: those as a decode batch, the
// rest as a prefill batch over the same q, out and caches. The prefill half keeps the whole
// token count: query_start holds absolute rows, so its queries stay where they are (and the
// Hopper kernel's Q descriptor spans them); its grid then has a few idle blocks at the end.
template <class T>
std::pair<PagedAttentionLaunch<T>, PagedAttentionLaunch<T>> split_leading_decodes(const PagedAttentionLaunch<T>& a) {
  const int64_t decodes = a.leading_decodes;
  PagedAttentionLaunch<T> head = a, tail = a;
  head.seqs = decodes;
  head.tokens = decodes;
  head.max_query_len = 1;
  if (a.leading_decodes_max_context_len > 0) head.max_context_len = a.leading_decodes_max_context_len;
  tail.seqs = a.seqs - decodes;
  tail.block_tables = a.block_tables + decodes * a.max_blocks_per_seq;
  tail.query_start = a.query_start + decodes;
  tail.context_lens = a.context_lens + decodes;
  tail.leading_decodes = 0;
  tail.leading_decodes_max_context_len = 0;
  return {head, tail};
}

}  // namespace

template <class T>
cudaError_t launch_paged_attention(const PagedAttentionLaunch<T>& a, cudaStream_t stream) {
  if (a.tokens == 0) return cudaSuccess;
  const AttentionShape shape{.tensor_core_dtype = !std::is_same_v<T, float>,
                       .head_dim = a.head_dim,
                       .q_heads = a.q_heads,
                       .kv_heads = a.kv_heads,
                       .vectors_aligned = vectors_aligned(a.q, a.out, a.k_cache, a.v_cache),
                       .paged = true,
                       .max_query_len = a.max_query_len,
                       .seqs = a.seqs,
                       .leading_decodes = a.leading_decodes,
                       .block_size = a.block_size,
                       .cache_extent_known = a.cache_blocks > 0,
                       .sm90a_built = kSm90aBuilt};
  if (a.window < 0) return cudaErrorInvalidValue;
  // The tensor-core kernels take no relative position bias (T5's small heads are few).
  if (a.bias.table != nullptr) return launch_warp_attention(a, stream);
  AttentionKernel kernel = AttentionKernel::unsupported;
  DeviceFacts device;
  if (const cudaError_t status = choose_attention_kernel(shape, a.max_compute_capability, kernel, device);
      status != cudaSuccess) {
    return status;
  }
  // A mixed batch's decodes in the decode kernel: it reads each page once for a GQA group,
  // where a prefill tile would give each query head a 64-row tile with one real row. The
  // selection below answers for the decodes alone (their count within its grid included).
  PagedAttentionLaunch<T> rest = a;
  const bool prefill = kernel == AttentionKernel::flash_prefill || kernel == AttentionKernel::flash_prefill_sm90;
  if (prefill && a.leading_decodes > 0 && a.leading_decodes < a.seqs) {
    AttentionShape decode_shape = shape;
    decode_shape.max_query_len = 1;
    decode_shape.seqs = a.leading_decodes;
    decode_shape.leading_decodes = 0;
    AttentionKernel decode_kernel = AttentionKernel::unsupported;
    if (const cudaError_t status = choose_attention_kernel(decode_shape, a.max_compute_capability, decode_kernel, device);
        status != cudaSuccess) {
      return status;
    }
    if (decode_kernel == AttentionKernel::flash_decode) {
      const auto [decodes, chunks] = split_leading_decodes(a);
      if constexpr (!std::is_same_v<T, float>) {
        if (const cudaError_t status = launch_flash_decode(decodes, device.multiprocessors, stream);
            status != cudaSuccess) {
          return status;
        }
      }
      rest = chunks;
    }
  }
  switch (kernel) {
    case AttentionKernel::warp: return launch_warp_attention(a, stream);
    case AttentionKernel::flash_prefill:
      if constexpr (!std::is_same_v<T, float>) return launch_flash_prefill(rest, stream);
      break;
    case AttentionKernel::flash_prefill_sm90:
      if constexpr (!std::is_same_v<T, float>) return launch_flash_prefill_sm90(rest, stream);
      break;
    case AttentionKernel::flash_decode:
      if constexpr (!std::is_same_v<T, float>) return launch_flash_decode(a, device.multiprocessors, stream);
      break;
    case AttentionKernel::unsupported: break;
  }
  return cudaErrorInvalidValue;
}

template cudaError_t launch_paged_attention<float>(const PagedAttentionLaunch<float>&, cudaStream_t);
template cudaError_t launch_paged_attention<__half>(const PagedAttentionLaunch<__half>&, cudaStream_t);
template cudaError_t launch_paged_attention<__nv_bfloat16>(const PagedAttentionLaunch<__nv_bfloat16>&, cudaStream_t);

}  // namespace genrt::kernels
