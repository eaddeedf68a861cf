#pragma once
// In-process GPU peers of the bench (built with the CUDA backend only): plain cuBLAS for
// the GEMM suite. They run on the current CudaContext's stream, like the op entries.

#include "runtime/core/tensor.h"

namespace genrt::bench {

// y [m, n] = x [m, k] @ w [n, k]^T with cublasGemmEx: bf16/f16 operands, fp32 compute,
// cuBLAS's default algorithm choice.
void cublas_linear(const Tensor& x, const Tensor& w, Tensor& y);

}  // namespace genrt::bench
