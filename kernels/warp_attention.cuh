#pragma once
// The inner loop of genrt's baseline attention kernels, shared by the paged (causal) and
// dense (non-causal) ones: one warp attends one query to a run of keys with an online
// softmax, so no score matrix is ever stored. Each lane holds kPerLane of the head's
// features, strided by 32 so that a warp's loads of one key row are coalesced.

#include <cfloat>
#include <cstdint>

#include "kernels/limits.h"
#include "kernels/ref/relative_position.h"
#include "kernels/type_convert.cuh"

namespace genrt::kernels {

__device__ __forceinline__ float warp_sum(float v) {
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

// out[0..head_dim) = softmax(scale * q . k_p + key_bias(p)) weighted sum of v_p over keys
// p < keys, where key_row(p) returns the offset of key p's head in `k` and `v`.
template <class T, int kPerLane, class KeyRow, class KeyBias>
__device__ void warp_attend(const T* q_row, const T* k, const T* v, int64_t keys, KeyRow key_row, KeyBias key_bias,
                            int64_t head_dim, float scale, T* out) {
  const int lane = threadIdx.x % 32;
  float q[kPerLane], acc[kPerLane];  // in registers: every loop over them is unrolled
#pragma unroll
  for (int j = 0; j < kPerLane; ++j) {
    const int64_t d = lane + 32 * j;
    q[j] = d < head_dim ? to_float(q_row[d]) * scale : 0.0f;
    acc[j] = 0.0f;
  }
  float running_max = -FLT_MAX, denominator = 0.0f;
  for (int64_t p = 0; p < keys; ++p) {
    const int64_t row = key_row(p);
    float dot = 0.0f;
#pragma unroll
    for (int j = 0; j < kPerLane; ++j) {
      const int64_t d = lane + 32 * j;
      if (d < head_dim) dot += q[j] * to_float(k[row + d]);
    }
    const float score = warp_sum(dot) + key_bias(p);
    const float new_max = fmaxf(running_max, score);
    const float correction = __expf(running_max - new_max), weight = __expf(score - new_max);
    denominator = denominator * correction + weight;
#pragma unroll
    for (int j = 0; j < kPerLane; ++j) {
      const int64_t d = lane + 32 * j;
      acc[j] = acc[j] * correction + (d < head_dim ? weight * to_float(v[row + d]) : 0.0f);
    }
    running_max = new_max;
  }
#pragma unroll
  for (int j = 0; j < kPerLane; ++j) {
    const int64_t d = lane + 32 * j;
    // No keys (metadata the host did not check) gives zeros, not 0/0; NaN still propagates.
    if (d < head_dim) out[d] = from_float<T>(denominator != 0.0f ? acc[j] / denominator : 0.0f);
  }
}

// T5's relative position bias of head `head` for a key `relative` positions from its
// query (bucketed by `starts`, the host's buckets), or 0 without a table; every lane
// computes it (the warp_attend score is uniform).
__device__ __forceinline__ float position_bias(const ref::RelativePositionBias& bias,
                                              const ref::RelativeBucketStarts& starts, int64_t relative, int64_t head,
                                              int64_t q_heads) {
  if (bias.table == nullptr) return 0.0f;
  return bias.table[ref::bucket_from_starts(relative, bias.num_buckets, bias.bidirectional, starts) * q_heads + head];
}

// Blocks along the grid's y axis for q_heads heads, kWarpAttentionWarps a block, or 0 when
// they do not fit (kMaxWarpAttentionHeads).
inline unsigned head_blocks(int64_t q_heads) {
  return q_heads > 0 && q_heads <= kMaxWarpAttentionHeads
             ? static_cast<unsigned>((q_heads + kWarpAttentionWarps - 1) / kWarpAttentionWarps)
             : 0u;
}

// Calls launch.template operator()<kPerLane>() with the per-lane width for head_dim;
// false (and no call) past kMaxWarpAttentionHeadDim.
template <class Launch>
bool with_per_lane_width(int64_t head_dim, Launch&& launch) {
  if (head_dim < 1 || head_dim > kMaxWarpAttentionHeadDim) return false;
  switch ((head_dim + 31) / 32) {
    case 1: launch.template operator()<1>(); break;
    case 2: launch.template operator()<2>(); break;
    case 3: launch.template operator()<3>(); break;
    case 4: launch.template operator()<4>(); break;
    case 5:
    case 6: launch.template operator()<6>(); break;
    case 7:
    case 8: launch.template operator()<8>(); break;
    default: launch.template operator()<16>(); break;  // 9 to 16: up to 512
  }
  return true;
}

}  // namespace genrt::kernels
