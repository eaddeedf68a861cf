#include "runtime/models/blocks/mlp.h"

namespace genrt::blocks {

void swiglu_mlp(const Linear& gate_up_proj, const Linear& down_proj, const Tensor& x, Tensor& gate_up, Tensor& act,
                Tensor& out) {
  gate_up_proj(x, gate_up);
  ops::swiglu(gate_up, act);
  down_proj(act, out);
}

void gelu_mlp(const Linear& fc_in, const Linear& fc_out, ref::Activation gelu, const Tensor& x, Tensor& inner,
              Tensor& out) {
  fc_in(x, inner);
  ops::gelu(inner, inner, gelu);
  fc_out(inner, out);
}

void relu_mlp(const Linear& fc_in, const Linear& fc_out, const Tensor& x, Tensor& inner, Tensor& out) {
  fc_in(x, inner);
  ops::relu(inner, inner);
  fc_out(inner, out);
}

}  // namespace genrt::blocks
