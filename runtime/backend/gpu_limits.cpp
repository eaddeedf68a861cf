#include "runtime/backend/gpu_limits.h"

#include "kernels/limits.h"
#include "runtime/core/error.h"

namespace genrt::ops {

void expect_gpu_attention_shape(const char* op, int64_t q_heads, int64_t head_dim) {
  GENRT_CHECK(head_dim >= 1 && head_dim <= kernels::kMaxWarpAttentionHeadDim,
              "{} on the GPU supports head_dim from 1 to {}, got {}", op, kernels::kMaxWarpAttentionHeadDim, head_dim);
  GENRT_CHECK(q_heads >= 1 && q_heads <= kernels::kMaxWarpAttentionHeads,
              "{} on the GPU supports 1 to {} query heads, got {}", op, kernels::kMaxWarpAttentionHeads, q_heads);
}

void expect_gpu_norm_dim(const char* op, int64_t dim) {
  GENRT_CHECK(dim <= kernels::kMaxNormDim, "{} on the GPU supports rows of up to {} values, got {}", op,
              kernels::kMaxNormDim, dim);
}

}  // namespace genrt::ops
