#pragma once
#include <cstdint>

namespace genrt::ref {

// Arguments of the row normalizations (RMSNorm, LayerNorm). With `residual` set the op
// first forms sum = x + residual, writes it to `sum_out` (the next residual stream) and
// normalizes the sum: the pre-norm transformer's "add & norm" in one pass.
struct NormArgs {
  const float* x = nullptr;         // [rows, dim]
  const float* residual = nullptr;  // [rows, dim] or nullptr
  float* sum_out = nullptr;         // [rows, dim], required when residual is set
  const float* weight = nullptr;    // [dim] or nullptr: no scale
  const float* bias = nullptr;      // [dim] or nullptr: no shift (LayerNorm only)
  float* out = nullptr;             // [rows, dim]; may alias x
  int64_t rows = 0;
  int64_t dim = 0;
  float eps = 1e-5f;
};

}  // namespace genrt::ref
