#pragma once
// Row normalizations on the GPU, one kernel for all of genrt's: RMSNorm and LayerNorm,
// each optionally fused with the residual add before it and with adaLN modulation after
// it (see kernels/ref/rmsnorm.h, layernorm.h, modulated_layernorm.h):
//
//   residual += gate[g] * x                       (when x is given; gate 1 when null)
//   n = (residual - mean) / sqrt(var + eps)       (LayerNorm; RMSNorm: residual / rms)
//   out = (n * weight + bias) * (1 + scale[g]) + shift[g]
//
// where row r belongs to group g = r / rows_per_group (a sample's tokens) and every
// missing operand is the identity. One pass over each row: the residual stream is read
// and written once, the output written once, with fp32 statistics.

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime_api.h>

#include <cstdint>

namespace genrt::kernels {

enum class NormKind : uint8_t { rms, layer };

template <class T>
struct NormLaunch {
  NormKind kind = NormKind::rms;
  const T* x = nullptr;       // [rows, dim] addend, or nullptr: residual is only read
  const T* gate = nullptr;    // [groups, dim] gate on x, or nullptr
  T* residual = nullptr;      // [rows, dim] the stream, updated in place when x is given
  const T* weight = nullptr;  // [dim] or nullptr
  const T* bias = nullptr;    // [dim] or nullptr
  const T* shift = nullptr;   // [groups, dim] or nullptr
  const T* scale = nullptr;   // [groups, dim] or nullptr
  T* out = nullptr;           // [rows, dim]; must not alias residual
  int64_t rows = 0;
  int64_t dim = 0;
  int64_t rows_per_group = 1;
  float eps = 1e-5f;
};

// T is float, __half or __nv_bfloat16. dim up to kMaxNormDim (the row is staged in shared
// memory in fp32). The statistics are of the residual as stored in T, so the stream and
// its normalized view agree.
inline constexpr int64_t kMaxNormDim = 8192;

template <class T>
cudaError_t launch_norm(const NormLaunch<T>& args, cudaStream_t stream);

}  // namespace genrt::kernels
