#pragma once
// Non-causal attention within each sequence of a batch on the GPU (see
// kernels/ref/dense_attention.h): DiT blocks, CLIP-style encoders, and cross-attention,
// where each sequence's keys (kv_tokens of them) are not its queries.

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime_api.h>

#include <cstdint>

#include "kernels/attention_kernels.h"
#include "kernels/ref/relative_position.h"

namespace genrt::kernels {

template <class T>
struct DenseAttentionLaunch {
  const T* q = nullptr;  // [batch, tokens, q_heads, head_dim]
  const T* k = nullptr;  // [batch, kv_tokens, kv_heads, head_dim]
  const T* v = nullptr;  // [batch, kv_tokens, kv_heads, head_dim]
  T* out = nullptr;      // [batch, tokens, q_heads, head_dim]
  int64_t batch = 0;
  int64_t tokens = 0;
  int64_t kv_tokens = 0;
  int64_t q_heads = 0;
  int64_t kv_heads = 0;
  int64_t head_dim = 0;  // up to 512 (kMaxWarpAttentionHeadDim)
  float scale = 0.0f;
  // T5's relative position bias (its table on the device), added to the scores of query
  // t and key p by p - t, bucketed by bias_starts (ref::relative_bucket_starts): only the
  // warp kernel takes one. No table: none.
  ref::RelativePositionBias bias;
  ref::RelativeBucketStarts bias_starts;
  // Kernels for at most this compute capability (0: the device's), as in
  // PagedAttentionLaunch.
  int max_compute_capability = 0;
  Sm90Schedule hopper_schedule = Sm90Schedule::warp_specialized;  // as in PagedAttentionLaunch
};

template <class T>
cudaError_t launch_dense_attention(const DenseAttentionLaunch<T>& args, cudaStream_t stream);

}  // namespace genrt::kernels
