#pragma once
// Op entry of the linear layer (a GEMM: cuBLASLt on the GPU).

#include "runtime/core/tensor.h"

namespace genrt::ops {

// out = x @ weight^T + bias (bias may be undefined)     x [m, k], weight [n, k], out [m, n]
void linear(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& out);

// The equal parts of a fused layer, each into an output of its own: for weight [parts n,
// k], out [parts, m, n] with out[p] = x @ weight[p n, (p + 1) n)^T + bias[p n, (p + 1) n).
// A dense attention's q, k and v (or a cross-attention's k and v) as one GEMM, each part
// contiguous for the attention kernels: on the GPU a strided batch over the weight's row
// blocks, x shared.
void linear_parts(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& out);

}  // namespace genrt::ops
