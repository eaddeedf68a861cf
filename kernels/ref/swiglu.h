#pragma once
#include <cstdint>

namespace genrt::ref {

// out = silu(gate) * up, silu(x) = x / (1 + exp(-x)). out may alias gate or up.
void swiglu(const float* gate, const float* up, float* out, int64_t n);

}  // namespace genrt::ref
