#pragma once
// Op entries of the row normalizations (see kernels/ref/norm.h): RMSNorm and LayerNorm,
// each with the residual add fused before it, and DiT's adaLN.

#include "runtime/core/tensor.h"

namespace genrt::ops {

// out = rmsnorm(x) * weight                                     x, out [rows, dim]
void rmsnorm(const Tensor& x, const Tensor& weight, float eps, Tensor& out);
// residual += x; out = rmsnorm(residual) * weight
void add_rmsnorm(const Tensor& x, Tensor& residual, const Tensor& weight, float eps, Tensor& out);

// out = layernorm(x) * weight + bias (weight/bias may be undefined: no affine)
void layernorm(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps, Tensor& out);
// residual += x; out = layernorm(residual) * weight + bias
void add_layernorm(const Tensor& x, Tensor& residual, const Tensor& weight, const Tensor& bias,
                   float eps, Tensor& out);

// adaLN (DiT): residual += gate * x, then out = layernorm(residual) * (1 + scale) + shift,
// without affine weights. Rows are grouped by sample: residual, x, out [batch * tokens, dim];
// gate, shift, scale [batch, dim] apply to their sample's tokens. x and gate may be
// undefined (nothing to add; gate 1).
void modulated_layernorm(const Tensor& x, const Tensor& gate, Tensor& residual,
                         const Tensor& shift, const Tensor& scale, float eps, Tensor& out);

}  // namespace genrt::ops
