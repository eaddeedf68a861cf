#include "kernels/ref/activations.h"

namespace genrt::ref {

void activation(const ActivationArgs<float>& a) {
  for (int64_t i = 0; i < a.n; ++i) a.out[i] = activation_value(a.op, a.x[i], a.up != nullptr ? a.up[i] : 0.0f);
}

}  // namespace genrt::ref
