#include "bench/harness/cuda_peers.h"

#include <cublas_v2.h>

#include <string>

#include "runtime/backend/cuda/cuda_context.h"
#include "runtime/core/error.h"
#include "runtime/core/shared_library.h"

namespace genrt::bench {

namespace {

// The cuBLAS functions the peer calls, resolved from libcublas when it first runs rather
// than linked (see runtime/core/shared_library.h).
struct CublasApi {
  // The C function (cublas_api.h also declares a C++ overload taking a cudaDataType_t compute type).
  using GemmEx = cublasStatus_t (*)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int, const void*,
                                    const void*, cudaDataType_t, int, const void*, cudaDataType_t, int, const void*,
                                    void*, cudaDataType_t, int, cublasComputeType_t, cublasGemmAlgo_t);
  decltype(&cublasCreate_v2) create;
  decltype(&cublasSetStream_v2) set_stream;
  GemmEx gemm_ex;
};

const CublasApi& cublas_api() {
  static const CublasApi api = [] {
    static const SharedLibrary library("libcublas.so." + std::to_string(CUBLAS_VER_MAJOR), GENRT_CUDA_LIBRARY_DIR);
    return CublasApi{.create = reinterpret_cast<decltype(&cublasCreate_v2)>(library.symbol("cublasCreate_v2")),
                     .set_stream = reinterpret_cast<decltype(&cublasSetStream_v2)>(library.symbol("cublasSetStream_v2")),
                     .gemm_ex = reinterpret_cast<CublasApi::GemmEx>(library.symbol("cublasGemmEx"))};
  }();
  return api;
}

cublasHandle_t cublas() {
  // One handle for the process's bench thread; cuBLAS allocates its own workspace.
  static cublasHandle_t handle = [] {
    cublasHandle_t h = nullptr;
    GENRT_CHECK(cublas_api().create(&h) == CUBLAS_STATUS_SUCCESS, "cuBLAS peer: cublasCreate failed");
    return h;
  }();
  return handle;
}

cudaDataType_t cuda_type(DType dtype) {
  GENRT_CHECK(dtype == DType::bf16 || dtype == DType::f16, "cuBLAS peer: {} is not a 16-bit dtype", dtype_name(dtype));
  return dtype == DType::bf16 ? CUDA_R_16BF : CUDA_R_16F;
}

}  // namespace

void cublas_linear(const Tensor& x, const Tensor& w, Tensor& y) {
  const int m = static_cast<int>(x.dim(0)), k = static_cast<int>(x.dim(1)), n = static_cast<int>(w.dim(0));
  const cudaDataType_t type = cuda_type(x.dtype());
  cublasHandle_t handle = cublas();
  GENRT_CHECK(cublas_api().set_stream(handle, current_cuda_context().stream) == CUBLAS_STATUS_SUCCESS,
              "cuBLAS peer: cublasSetStream failed");
  // Row-major y = x w^T is column-major y^T [n, m] = w [n, k] (stored as k x n: op T) times
  // x^T (stored as k x m: op N).
  const float alpha = 1.0f, beta = 0.0f;
  const cublasStatus_t status = cublas_api().gemm_ex(handle, CUBLAS_OP_T, CUBLAS_OP_N, n, m, k, &alpha, w.raw(), type, k,
                                             x.raw(), type, k, &beta, y.raw(), type, n, CUBLAS_COMPUTE_32F,
                                             CUBLAS_GEMM_DEFAULT);
  GENRT_CHECK(status == CUBLAS_STATUS_SUCCESS, "cuBLAS peer: cublasGemmEx {}x{}x{} failed ({})", m, n, k,
              static_cast<int>(status));
}

}  // namespace genrt::bench
