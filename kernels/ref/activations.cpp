#include "kernels/ref/activations.h"

namespace genrt::ref {

void activation(const ActivationArgs<float>& a) {
  const float* up = is_gated(a.op) ? a.x : a.up;
  for (int64_t i = 0; i < a.n; ++i) {
    const OperandIndex at = operand_index(a.op, a.cols, i);
    a.out[i] = activation_value(a.op, a.x[at.x], up != nullptr ? up[at.up] : 0.0f);
  }
}

}  // namespace genrt::ref
