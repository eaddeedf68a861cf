#pragma once
// Op entries of the elementwise activations (see kernels/ref/activations.h), over tensors
// of equal shapes.

#include "kernels/ref/activations.h"
#include "runtime/core/tensor.h"

namespace genrt::ops {

// out = silu(gate) * up
void swiglu(const Tensor& gate, const Tensor& up, Tensor& out);
// out = gelu(x); `gelu` is Activation::gelu_erf, gelu_tanh or gelu_quick.
void gelu(const Tensor& x, Tensor& out, ref::Activation gelu);
void silu(const Tensor& x, Tensor& out);
void relu(const Tensor& x, Tensor& out);
// out = a + b; out may alias a or b.
void add(const Tensor& a, const Tensor& b, Tensor& out);

}  // namespace genrt::ops
