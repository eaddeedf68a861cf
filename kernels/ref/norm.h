#pragma once
#include <cstdint>

#include "kernels/ref/host_device.h"

namespace genrt::ref {

// The row normalizations, one op for all of genrt's: RMSNorm and LayerNorm, each optionally
// fused with the residual add before it and with adaLN modulation after it:
//
//   residual += gate[g] * x                            (when x is given; gate 1 when null)
//   out = ((residual - mean) * rstd * weight + bias) * (1 + scale[g]) + shift[g]
//
// LayerNorm: mean and rstd = 1 / sqrt(var + eps) of the row (biased variance, like PyTorch);
// RMSNorm: mean 0 and rstd = 1 / sqrt(mean(residual^2) + eps). Row r belongs to group
// g = r / rows_per_group (a sample's tokens; gate, shift and scale are that sample's
// conditioning vectors) and every missing operand is the identity. The CPU reference below
// and the CUDA kernel (kernels/norm.cuh) take the same arguments and evaluate the same
// per-element functions; only their reductions for the statistics are organized differently.
enum class NormKind : uint8_t { rms, layer };

// T is float for the CPU reference; float, __half or __nv_bfloat16 for the kernel.
template <class T>
struct NormArgs {
  NormKind kind = NormKind::rms;
  const T* x = nullptr;       // [rows, dim] addend, or nullptr: residual is only read
  const T* gate = nullptr;    // [groups, dim] gate on x, or nullptr
  T* residual = nullptr;      // [rows, dim] the stream, updated in place when x is given
  const T* weight = nullptr;  // [dim] or nullptr
  const T* bias = nullptr;    // [dim] or nullptr
  const T* shift = nullptr;   // [groups, dim] or nullptr
  const T* scale = nullptr;   // [groups, dim] or nullptr
  T* out = nullptr;           // [rows, dim]; may alias residual only when x is nullptr
  int64_t rows = 0;
  int64_t dim = 0;
  int64_t rows_per_group = 1;
  float eps = 1e-5f;
};

GENRT_HOST_DEVICE inline float residual_add(float residual, float gate, float x) { return residual + gate * x; }

// Element value v of a row with statistics (mean, rstd), through the affine and modulation
// parameters of its column and group.
GENRT_HOST_DEVICE inline float normalized_value(float v, float mean, float rstd, float weight, float bias,
                                                float scale, float shift) {
  return ((v - mean) * rstd * weight + bias) * (1.0f + scale) + shift;
}

void norm(const NormArgs<float>& args);

}  // namespace genrt::ref
