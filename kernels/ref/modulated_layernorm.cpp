#include "kernels/ref/modulated_layernorm.h"

#include "kernels/ref/layernorm.h"

namespace genrt::ref {

void modulated_layernorm(const ModulatedNormArgs& a) {
  for (int64_t r = 0; r < a.rows; ++r) {
    const int64_t g = r / a.rows_per_group;
    float* stream = a.residual + r * a.dim;
    if (a.x != nullptr) {
      for (int64_t i = 0; i < a.dim; ++i) {
        stream[i] += (a.gate ? a.gate[g * a.dim + i] : 1.0f) * a.x[r * a.dim + i];
      }
    }
    float* out = a.out + r * a.dim;
    layernorm({.x = stream, .out = out, .rows = 1, .dim = a.dim, .eps = a.eps});
    for (int64_t i = 0; i < a.dim; ++i) {
      out[i] = out[i] * (1.0f + a.scale[g * a.dim + i]) + a.shift[g * a.dim + i];
    }
  }
}

}  // namespace genrt::ref
