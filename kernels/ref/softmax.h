#pragma once
#include <cstdint>

namespace genrt::ref {

// Row-wise softmax in place, max-subtracted so large logits do not overflow.
void softmax(float* x,  // [rows, n]
             int64_t rows, int64_t n);

}  // namespace genrt::ref
