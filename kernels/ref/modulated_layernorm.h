#pragma once
#include <cstdint>

namespace genrt::ref {

// adaLN modulation, the normalization of DiT blocks, fused with their gated residual add:
//
//   residual += gate[g] * x          (skipped when x is nullptr; gate nullptr means 1)
//   out = layernorm(residual) * (1 + scale[g]) + shift[g]
//
// where row r belongs to group g = r / rows_per_group (a group is one sample's tokens;
// gate, shift and scale are that sample's conditioning vectors). LayerNorm has no affine
// parameters here; fp32 statistics with biased variance, like PyTorch.
struct ModulatedNormArgs {
  const float* x = nullptr;      // [rows, dim] branch output to add, or nullptr
  const float* gate = nullptr;   // [groups, dim] or nullptr
  float* residual = nullptr;     // [rows, dim] the residual stream, updated in place
  const float* shift = nullptr;  // [groups, dim]
  const float* scale = nullptr;  // [groups, dim]
  float* out = nullptr;          // [rows, dim]; must not alias residual
  int64_t rows = 0;
  int64_t dim = 0;
  int64_t rows_per_group = 0;
  float eps = 1e-6f;
};

void modulated_layernorm(const ModulatedNormArgs& args);

}  // namespace genrt::ref
