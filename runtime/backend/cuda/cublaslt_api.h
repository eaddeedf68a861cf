#pragma once
// cuBLASLt's entry points, resolved from libcublasLt when the first GEMM handle is made
// rather than linked (see runtime/core/shared_library.h): members carry the functions'
// own names, so a call reads cublaslt().cublasLtMatmul(...).

#include <cublasLt.h>

namespace genrt {

#define GENRT_CUBLASLT_FUNCTIONS(X)                                                          \
  X(cublasLtCreate) X(cublasLtDestroy) X(cublasLtGetStatusString) X(cublasLtMatmul)          \
  X(cublasLtMatmulAlgoGetHeuristic) X(cublasLtMatmulDescCreate) X(cublasLtMatmulDescDestroy)  \
  X(cublasLtMatmulDescSetAttribute) X(cublasLtMatrixLayoutCreate) X(cublasLtMatrixLayoutDestroy) \
  X(cublasLtMatrixLayoutSetAttribute) X(cublasLtMatmulPreferenceCreate)                      \
  X(cublasLtMatmulPreferenceDestroy) X(cublasLtMatmulPreferenceSetAttribute)

struct CublasLtApi {
#define GENRT_CUBLASLT_MEMBER(function) decltype(&::function) function = nullptr;
  GENRT_CUBLASLT_FUNCTIONS(GENRT_CUBLASLT_MEMBER)
#undef GENRT_CUBLASLT_MEMBER
};

// Loads libcublasLt of the major version genrt was built against on the first call;
// throws genrt::Error when it is missing.
const CublasLtApi& cublaslt();

}  // namespace genrt
