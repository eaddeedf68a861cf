#pragma once
// The runtime's one GEMM: y = x @ w^T (+ bias), the nn.Linear product, through cuBLASLt
// with bf16 or fp16 operands and fp32 accumulation. The algorithm for each shape is chosen
// once by cuBLASLt's heuristics and cached, so steady-state calls do no planning.

#include <cuda_runtime_api.h>

#include <cstdint>
#include <map>
#include <memory>
#include <tuple>

#include "runtime/core/dtype.h"

namespace genrt {

class CublasLtGemm {
 public:
  // `workspace` (device memory, workspace_bytes long) is lent to cuBLASLt for split-K and
  // similar algorithms; it comes from the planned workspace region, not a new allocation.
  CublasLtGemm(void* workspace, size_t workspace_bytes);
  ~CublasLtGemm();
  CublasLtGemm(const CublasLtGemm&) = delete;
  CublasLtGemm& operator=(const CublasLtGemm&) = delete;

  // y [m, n] = x [m, k] @ w [n, k]^T (+ bias [n]); row-major on the device, x, w and bias
  // in `dtype` (bf16 or f16), y in `out_dtype` (the same, or f32: logits). Throws
  // genrt::Error naming the shape on a cuBLASLt failure.
  void linear(const void* x, const void* w, const void* bias, void* y, int64_t m, int64_t n, int64_t k, DType dtype,
              DType out_dtype, cudaStream_t stream);
  // The equal parts of a fused layer, each into its own output: y [parts, m, n], y[p] =
  // x [m, k] @ w[p n, (p + 1) n)^T (+ bias[p n, (p + 1) n)) for w [parts n, k]. One
  // strided-batched GEMM over the weight's row blocks with x shared (batch stride 0); as
  // `parts` GEMMs where cuBLASLt has no batched algorithm for the shape.
  void linear_parts(const void* x, const void* w, const void* bias, void* y, int64_t parts, int64_t m, int64_t n,
                    int64_t k, DType dtype, cudaStream_t stream);

  // Plans made so far (one per distinct shape, parts, dtype and bias use).
  size_t cached_plans() const { return plans_.size(); }

  // cuBLASLt's recommended workspace for Hopper.
  static constexpr size_t kWorkspaceBytes = size_t{32} << 20;

 private:
  struct Plan;
  using Key = std::tuple<int64_t, int64_t, int64_t, int64_t, DType, DType, bool, uint32_t>;
  Plan& plan_for(int64_t parts, int64_t m, int64_t n, int64_t k, DType dtype, DType out_dtype, bool bias,
                 uint32_t alignment);
  void run(Plan& plan, const void* x, const void* w, const void* bias, void* y, cudaStream_t stream);

  void* handle_ = nullptr;  // cublasLtHandle_t, kept out of this header
  void* workspace_;
  size_t workspace_bytes_;
  std::map<Key, std::unique_ptr<Plan>> plans_;
};

}  // namespace genrt
