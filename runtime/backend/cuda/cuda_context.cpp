#include "runtime/backend/cuda/cuda_context.h"

#include "runtime/core/error.h"

namespace genrt {

namespace {
thread_local const CudaContext* current = nullptr;
}  // namespace

CudaScope::CudaScope(const CudaContext& context) : previous_(current) { current = &context; }
CudaScope::~CudaScope() { current = previous_; }

const CudaContext& current_cuda_context() {
  GENRT_CHECK(current != nullptr, "a CUDA op ran outside a CudaScope (no stream to run on)");
  return *current;
}

void check_cuda(cudaError_t status, const char* what) {
  GENRT_CHECK(status == cudaSuccess, "{}: {}", what, cudaGetErrorString(status));
}

}  // namespace genrt
