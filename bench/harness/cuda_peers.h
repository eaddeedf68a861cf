#pragma once
// In-process GPU peers and GPU-only ops of the bench (built with the CUDA backend only):
// plain cuBLAS for the GEMM suite, the sampling kernel for the sampling suite. They run on
// the current CudaContext's stream, like the op entries.

#include "runtime/core/tensor.h"
#include "runtime/engine/sampler.h"

namespace genrt::bench {

// y [m, n] = x [m, k] @ w [n, k]^T with cublasGemmEx: bf16/f16 operands, fp32 compute,
// cuBLAS's default algorithm choice.
void cublas_linear(const Tensor& x, const Tensor& w, Tensor& y);

// One token per row of logits [rows, vocab] (f32) into ids [rows] (i32).
void sample_on_gpu(const Tensor& logits, const SamplingParams& params, Tensor& ids);

}  // namespace genrt::bench
