#pragma once
// Op entry of the linear layer (a GEMM: cuBLASLt on the GPU).

#include "runtime/core/tensor.h"

namespace genrt::ops {

// out = x @ weight^T + bias (bias may be undefined)     x [m, k], weight [n, k], out [m, n]
void linear(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& out);

}  // namespace genrt::ops
