#pragma once
// The stream and library handles that CUDA op entries run on. Whoever runs a step on the
// device (a model's forward pass) installs its context for the step with a CudaScope; the
// op entries find it with current_cuda_context(). Contexts are per thread.

#include <cuda_runtime_api.h>

#include "kernels/attention_kernels.h"

namespace genrt {

class CublasLtGemm;
class CudnnConv;

struct CudaContext {
  cudaStream_t stream = nullptr;
  CublasLtGemm* gemm = nullptr;
  CudnnConv* conv = nullptr;  // shares the GEMM's workspace: both run on `stream`
  // The split-KV decode's partial results (kernels::kSplitWorkspaceBytes, planned); none
  // means an unsplit decode.
  void* attention_workspace = nullptr;
  size_t attention_workspace_bytes = 0;
  // The two-phase GroupNorm's partial statistics (kernels::kGroupNormWorkspaceBytes, planned).
  void* group_norm_workspace = nullptr;
  size_t group_norm_workspace_bytes = 0;
  // Attention kernels of at most this compute capability (0: the device's): the bench runs
  // the older kernels beside the ones the device gets.
  int attention_compute_capability = 0;
  // The Hopper attention kernel's schedule: the bench also runs the unspecialized one.
  kernels::Sm90Schedule attention_hopper_schedule = kernels::Sm90Schedule::warp_specialized;
};

class CudaScope {
 public:
  explicit CudaScope(const CudaContext& context);
  ~CudaScope();
  CudaScope(const CudaScope&) = delete;
  CudaScope& operator=(const CudaScope&) = delete;

 private:
  const CudaContext* previous_;
};

// The innermost active context; throws when a CUDA op runs outside any CudaScope.
const CudaContext& current_cuda_context();
inline cudaStream_t current_stream() { return current_cuda_context().stream; }

// Throws genrt::Error "<what>: <CUDA error string>" unless status is cudaSuccess.
void check_cuda(cudaError_t status, const char* what);

}  // namespace genrt
