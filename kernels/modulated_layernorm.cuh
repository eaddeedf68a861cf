#pragma once
// adaLN on the GPU, fused with the gated residual add (see kernels/ref/modulated_layernorm.h):
//
//   residual += gate[g] * x;   out = layernorm(residual) * (1 + scale[g]) + shift[g]
//
// one pass over each row: the residual stream is read and written once, the normalized
// output written once, with fp32 statistics.

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime_api.h>

#include <cstdint>

namespace genrt::kernels {

template <class T>
struct ModulatedNormLaunch {
  const T* x = nullptr;      // [rows, dim] branch output, or nullptr
  const T* gate = nullptr;   // [groups, dim], or nullptr (gate 1)
  T* residual = nullptr;     // [rows, dim], updated in place
  const T* shift = nullptr;  // [groups, dim]
  const T* scale = nullptr;  // [groups, dim]
  T* out = nullptr;          // [rows, dim]
  int64_t rows = 0;
  int64_t dim = 0;
  int64_t rows_per_group = 0;
  float eps = 1e-6f;
};

// T is float, __half or __nv_bfloat16. dim up to kMaxModulatedNormDim (the row is staged
// in shared memory in fp32). The normalization reads the residual as stored in T, so the
// stream and its normalized view agree.
inline constexpr int64_t kMaxModulatedNormDim = 8192;

template <class T>
cudaError_t launch_modulated_layernorm(const ModulatedNormLaunch<T>& args, cudaStream_t stream);

}  // namespace genrt::kernels
