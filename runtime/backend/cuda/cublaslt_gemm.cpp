#include "runtime/backend/cuda/cublaslt_gemm.h"

#include <initializer_list>
#include <utility>

#include <spdlog/spdlog.h>

#include "runtime/backend/cuda/cublaslt_api.h"
#include "runtime/core/error.h"

namespace genrt {

namespace {

void check(cublasStatus_t status, const char* what) {
  GENRT_CHECK(status == CUBLAS_STATUS_SUCCESS, "cuBLASLt {} failed: {}", what, cublaslt().cublasLtGetStatusString(status));
}

cudaDataType_t cuda_type(DType dtype) {
  switch (dtype) {
    case DType::bf16: return CUDA_R_16BF;
    case DType::f16: return CUDA_R_16F;
    case DType::f32: return CUDA_R_32F;
    default: fail("cuBLASLt GEMM: {} is not a GEMM type", dtype_name(dtype));
  }
}

cublasLtHandle_t lt(void* handle) { return static_cast<cublasLtHandle_t>(handle); }

// The largest power of two, up to 256, dividing every operand's address. cuBLASLt's
// heuristic assumes 256-byte operands unless told otherwise, and a view into a fused
// weight (the q, k and v rows of GPT-2's c_attn, the DiT's six adaLN chunks) starts
// wherever its first row does.
uint32_t common_alignment(std::initializer_list<const void*> operands) {
  uintptr_t bits = 256;
  for (const void* p : operands) {
    if (p != nullptr) bits |= reinterpret_cast<uintptr_t>(p);
  }
  return static_cast<uint32_t>(bits & (~bits + 1));  // the lowest set bit
}

}  // namespace

// Row-major y[m, n] = x[m, k] w[n, k]^T is y^T = w x^T in cuBLAS's column-major terms:
// A = w read as column-major [k, n] and transposed, B = x read as column-major [k, m],
// C = y read as column-major [n, m]. Views only, no copies. A plan of `parts` batches
// steps A by n k, B by 0 (x shared), C by m n and the bias by n.
struct CublasLtGemm::Plan {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  cublasLtMatmulAlgo_t algo{};
  int64_t parts = 1, m = 0, n = 0, k = 0;
  DType dtype = DType::bf16, out_dtype = DType::bf16;
  // With parts > 1 and no batched algorithm for the shape: the plan of one part, run
  // `parts` times.
  Plan* per_part = nullptr;

  ~Plan() {
    if (c != nullptr) cublaslt().cublasLtMatrixLayoutDestroy(c);
    if (b != nullptr) cublaslt().cublasLtMatrixLayoutDestroy(b);
    if (a != nullptr) cublaslt().cublasLtMatrixLayoutDestroy(a);
    if (op != nullptr) cublaslt().cublasLtMatmulDescDestroy(op);
  }
};

CublasLtGemm::CublasLtGemm(void* workspace, size_t workspace_bytes)
    : workspace_(workspace), workspace_bytes_(workspace_bytes) {
  cublasLtHandle_t handle = nullptr;
  check(cublaslt().cublasLtCreate(&handle), "handle creation");
  handle_ = handle;
}

CublasLtGemm::~CublasLtGemm() {
  plans_.clear();
  if (handle_ != nullptr) cublaslt().cublasLtDestroy(lt(handle_));
}

CublasLtGemm::Plan& CublasLtGemm::plan_for(int64_t parts, int64_t m, int64_t n, int64_t k, DType dtype,
                                           DType out_dtype, bool bias, uint32_t alignment) {
  const Key key{parts, m, n, k, dtype, out_dtype, bias, alignment};
  if (auto it = plans_.find(key); it != plans_.end()) return *it->second;
  GENRT_CHECK(dtype == DType::bf16 || dtype == DType::f16,
              "cuBLASLt GEMM: {} operands are not supported (bf16 or f16)", dtype_name(dtype));
  GENRT_CHECK(out_dtype == dtype || out_dtype == DType::f32, "cuBLASLt GEMM: {} operands cannot give {} output",
              dtype_name(dtype), dtype_name(out_dtype));
  auto plan = std::make_unique<Plan>();
  plan->parts = parts, plan->m = m, plan->n = n, plan->k = k, plan->dtype = dtype, plan->out_dtype = out_dtype;
  const cudaDataType_t type = cuda_type(dtype), out_type = cuda_type(out_dtype);
  check(cublaslt().cublasLtMatmulDescCreate(&plan->op, CUBLAS_COMPUTE_32F, CUDA_R_32F), "matmul descriptor");
  const cublasOperation_t transpose = CUBLAS_OP_T, keep = CUBLAS_OP_N;
  check(cublaslt().cublasLtMatmulDescSetAttribute(plan->op, CUBLASLT_MATMUL_DESC_TRANSA, &transpose, sizeof(transpose)), "TRANSA");
  check(cublaslt().cublasLtMatmulDescSetAttribute(plan->op, CUBLASLT_MATMUL_DESC_TRANSB, &keep, sizeof(keep)), "TRANSB");
  if (bias) {
    const cublasLtEpilogue_t epilogue = CUBLASLT_EPILOGUE_BIAS;  // bias[n]: one per row of C = output feature
    check(cublaslt().cublasLtMatmulDescSetAttribute(plan->op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue, sizeof(epilogue)),
          "bias epilogue");
    check(cublaslt().cublasLtMatmulDescSetAttribute(plan->op, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &type, sizeof(type)),
          "bias type");
  }
  check(cublaslt().cublasLtMatrixLayoutCreate(&plan->a, type, static_cast<uint64_t>(k), static_cast<uint64_t>(n), k), "layout w");
  check(cublaslt().cublasLtMatrixLayoutCreate(&plan->b, type, static_cast<uint64_t>(k), static_cast<uint64_t>(m), k), "layout x");
  check(cublaslt().cublasLtMatrixLayoutCreate(&plan->c, out_type, static_cast<uint64_t>(n), static_cast<uint64_t>(m), n),
        "layout y");
  if (parts > 1) {
    const auto count = static_cast<int32_t>(parts);
    for (const auto& [layout, stride] : {std::pair{plan->a, n * k}, {plan->b, int64_t{0}}, {plan->c, m * n}}) {
      check(cublaslt().cublasLtMatrixLayoutSetAttribute(layout, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof(count)),
            "batch count");
      check(cublaslt().cublasLtMatrixLayoutSetAttribute(layout, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride,
                                                       sizeof(stride)),
            "batch stride");
    }
    if (bias) {
      check(cublaslt().cublasLtMatmulDescSetAttribute(plan->op, CUBLASLT_MATMUL_DESC_BIAS_BATCH_STRIDE, &n, sizeof(n)),
            "bias batch stride");
    }
  }

  cublasLtMatmulPreference_t preference = nullptr;
  check(cublaslt().cublasLtMatmulPreferenceCreate(&preference), "preference");
  check(cublaslt().cublasLtMatmulPreferenceSetAttribute(preference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace_bytes_,
                                             sizeof(workspace_bytes_)),
        "workspace preference");
  for (const auto attribute : {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
                               CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES}) {
    check(cublaslt().cublasLtMatmulPreferenceSetAttribute(preference, attribute, &alignment, sizeof(alignment)),
          "alignment preference");
  }
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  const cublasStatus_t status = cublaslt().cublasLtMatmulAlgoGetHeuristic(lt(handle_), plan->op, plan->a, plan->b, plan->c,
                                                               plan->c, preference, 1, &result, &found);
  cublaslt().cublasLtMatmulPreferenceDestroy(preference);
  if (parts > 1 && (status != CUBLAS_STATUS_SUCCESS || found == 0)) {
    spdlog::warn("cuBLASLt has no batched algorithm for {} parts of m {} n {} k {} ({}): they run as {} GEMMs", parts,
                 m, n, k, status != CUBLAS_STATUS_SUCCESS ? cublaslt().cublasLtGetStatusString(status) : "none found",
                 parts);
    plan->per_part = &plan_for(1, m, n, k, dtype, out_dtype, bias, alignment);
    return *plans_.emplace(key, std::move(plan)).first->second;
  }
  check(status, "heuristic");
  GENRT_CHECK(found > 0, "cuBLASLt has no algorithm for a {} GEMM of m {} n {} k {} to {}{}", dtype_name(dtype), m,
              n, k, dtype_name(out_dtype), bias ? " with bias" : "");
  plan->algo = result.algo;
  return *plans_.emplace(key, std::move(plan)).first->second;
}

void CublasLtGemm::run(Plan& plan, const void* x, const void* w, const void* bias, void* y, cudaStream_t stream) {
  if (plan.per_part != nullptr) {
    const size_t in_size = dtype_size(plan.dtype), out_size = dtype_size(plan.out_dtype);
    for (int64_t p = 0; p < plan.parts; ++p) {
      run(*plan.per_part, x, static_cast<const char*>(w) + p * plan.n * plan.k * in_size,
          bias != nullptr ? static_cast<const char*>(bias) + p * plan.n * in_size : nullptr,
          static_cast<char*>(y) + p * plan.m * plan.n * out_size, stream);
    }
    return;
  }
  if (bias != nullptr) {
    check(cublaslt().cublasLtMatmulDescSetAttribute(plan.op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)),
          "bias pointer");
  }
  const float alpha = 1.0f, beta = 0.0f;
  const cublasStatus_t status = cublaslt().cublasLtMatmul(lt(handle_), plan.op, &alpha, w, plan.a, x, plan.b, &beta, y, plan.c,
                                               y, plan.c, &plan.algo, workspace_, workspace_bytes_, stream);
  GENRT_CHECK(status == CUBLAS_STATUS_SUCCESS, "cuBLASLt GEMM of {} x m {} n {} k {} ({}) failed: {}", plan.parts,
              plan.m, plan.n, plan.k, dtype_name(plan.dtype), cublaslt().cublasLtGetStatusString(status));
}

void CublasLtGemm::linear(const void* x, const void* w, const void* bias, void* y, int64_t m, int64_t n, int64_t k,
                          DType dtype, DType out_dtype, cudaStream_t stream) {
  if (m == 0 || n == 0) return;
  GENRT_CHECK(k > 0, "GEMM: k must be positive");
  run(plan_for(1, m, n, k, dtype, out_dtype, bias != nullptr, common_alignment({x, w, bias, y})), x, w, bias, y,
      stream);
}

void CublasLtGemm::linear_parts(const void* x, const void* w, const void* bias, void* y, int64_t parts, int64_t m,
                                int64_t n, int64_t k, DType dtype, cudaStream_t stream) {
  if (parts == 0 || m == 0 || n == 0) return;
  GENRT_CHECK(k > 0 && parts > 0 && parts <= 65535, "GEMM: k {} must be positive and parts {} in 1..65535", k, parts);
  // Every part's operands start where the first part's do plus a whole number of its
  // strides: the second part's addresses bound their alignment.
  const size_t size = dtype_size(dtype);
  const auto* w1 = static_cast<const char*>(w) + n * k * static_cast<int64_t>(size);
  const auto* bias1 = bias != nullptr ? static_cast<const char*>(bias) + n * static_cast<int64_t>(size) : nullptr;
  const auto* y1 = static_cast<const char*>(y) + m * n * static_cast<int64_t>(size);
  const uint32_t alignment = common_alignment({x, w, bias, y, w1, bias1, y1});
  run(plan_for(parts, m, n, k, dtype, dtype, bias != nullptr, alignment), x, w, bias, y, stream);
}

}  // namespace genrt
