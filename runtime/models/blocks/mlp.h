#pragma once
// The MLP variants shared by the model graphs.

#include "kernels/ref/activations.h"
#include "runtime/models/blocks/linear.h"

namespace genrt::blocks {

// SwiGLU (Llama): out = down(silu(gate(x)) * up(x)), the gate and up projections fused
// into one layer (gate_up_proj: the gate's output features, then up's, see
// Linear::name_fused_weights); gate_up [tokens, 2 intermediate] and act [tokens,
// intermediate] are buffers.
void swiglu_mlp(const Linear& gate_up_proj, const Linear& down_proj, const Tensor& x, Tensor& gate_up, Tensor& act,
                Tensor& out);

// GELU MLP (GPT-2, DiT, CLIP): out = fc_out(gelu(fc_in(x))), `gelu` Activation::gelu_erf,
// gelu_tanh or gelu_quick; inner is a [tokens, intermediate] buffer.
void gelu_mlp(const Linear& fc_in, const Linear& fc_out, ref::Activation gelu, const Tensor& x, Tensor& inner,
              Tensor& out);

// ReLU MLP (OPT): out = fc_out(relu(fc_in(x))); inner is a [tokens, intermediate] buffer.
void relu_mlp(const Linear& fc_in, const Linear& fc_out, const Tensor& x, Tensor& inner, Tensor& out);

}  // namespace genrt::blocks
