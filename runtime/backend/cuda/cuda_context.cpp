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
  if (status == cudaSuccess) return;
  // A failed call (an allocation, say) stays the thread's last error unless it is read: the
  // next launcher's cudaGetLastError() would report it against a kernel that did no wrong.
  // Sticky errors (a faulted context) stay whatever is read.
  (void)cudaGetLastError();
  fail("{}: {}", what, cudaGetErrorString(status));
}

}  // namespace genrt
