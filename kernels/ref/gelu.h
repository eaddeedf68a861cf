#pragma once
#include <cstdint>

namespace genrt::ref {

enum class GeluApprox : uint8_t {
  erf,   // exact: 0.5 x (1 + erf(x / sqrt 2))           (PyTorch approximate="none")
  tanh,  // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) (GPT-2's gelu_new)
};

// out = gelu(x); out may alias x.
void gelu(const float* x, float* out, int64_t n, GeluApprox approx);

}  // namespace genrt::ref
