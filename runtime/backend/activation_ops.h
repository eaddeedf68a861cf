#pragma once
// Op entries of the elementwise activations (see kernels/ref/activations.h), over tensors
// of equal shapes, and the gated units (SwiGLU, GEGLU) over one fused projection's output.

#include "kernels/ref/activations.h"
#include "runtime/core/tensor.h"

namespace genrt::ops {

// out [rows, cols] = silu(gate) * up, where gate_up [rows, 2 cols] is the output of one
// fused projection: its first cols columns the gate, the rest up. out must not overlap it.
void swiglu(const Tensor& gate_up, Tensor& out);
// out [rows, cols] = value * gelu_erf(gate), where x [rows, 2 cols] holds value | gate: the
// GEGLU of diffusers' transformer blocks. out must not overlap x.
void geglu(const Tensor& x, Tensor& out);
// out [rows, cols] = gelu_tanh(gate) * value, where x [rows, 2 cols] holds gate | value: T5
// v1.1's gated-gelu feed-forward. out must not overlap x.
void gated_gelu(const Tensor& x, Tensor& out);
// out = gelu(x); `gelu` is Activation::gelu_erf, gelu_tanh or gelu_quick.
void gelu(const Tensor& x, Tensor& out, ref::Activation gelu);
void silu(const Tensor& x, Tensor& out);
void relu(const Tensor& x, Tensor& out);
// out = a + b; out may alias a or b.
void add(const Tensor& a, const Tensor& b, Tensor& out);

}  // namespace genrt::ops
