#pragma once
#include <cstdint>

namespace genrt::ref {

// Index of the largest element; the first one on ties (torch.argmax does the same).
// NaN never wins; a row of NaNs gives 0. n must be positive.
int64_t argmax(const float* x, int64_t n);

}  // namespace genrt::ref
