#include "runtime/backend/cuda/cuda_ops.h"

#include "runtime/backend/cuda/cublaslt_gemm.h"
#include "runtime/backend/cuda/cuda_context.h"

namespace genrt::cuda_ops {

void linear(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& out) {
  CublasLtGemm* gemm = current_cuda_context().gemm;
  GENRT_CHECK(gemm != nullptr, "linear: the CUDA context has no GEMM handle");
  gemm->linear(x.raw(), weight.raw(), bias.defined() ? bias.raw() : nullptr, out.raw(), x.dim(0), weight.dim(0),
               x.dim(1), x.dtype(), out.dtype(), current_stream());
}

void linear_parts(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& out) {
  CublasLtGemm* gemm = current_cuda_context().gemm;
  GENRT_CHECK(gemm != nullptr, "linear_parts: the CUDA context has no GEMM handle");
  gemm->linear_parts(x.raw(), weight.raw(), bias.defined() ? bias.raw() : nullptr, out.raw(), out.dim(0), x.dim(0),
                     out.dim(2), x.dim(1), x.dtype(), current_stream());
}

}  // namespace genrt::cuda_ops
