#pragma once
// The shapes genrt's CUDA kernels take (kernels/limits.h), checked by the CUDA op entries
// before they launch, so that an unsupported shape fails naming the limit rather than as
// the launcher's "invalid argument". Pure functions of the shape: the unit tests run them
// without a device.

#include <cstdint>

namespace genrt::ops {

// paged_attention, dense_attention: q [..., q_heads, head_dim].
void expect_gpu_attention_shape(const char* op, int64_t q_heads, int64_t head_dim);

// The norms: rows of `dim` values.
void expect_gpu_norm_dim(const char* op, int64_t dim);

}  // namespace genrt::ops
