#pragma once
#include <cstdint>

namespace genrt::ref {

// out = x * sigmoid(x); out may alias x.
void silu(const float* x, float* out, int64_t n);

}  // namespace genrt::ref
