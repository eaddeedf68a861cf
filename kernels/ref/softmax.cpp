#include "kernels/ref/softmax.h"

#include <algorithm>
#include <cmath>

namespace genrt::ref {

void softmax(float* x, int64_t rows, int64_t n) {
  if (n == 0) return;  // empty rows (no element to take the max of)
  for (int64_t r = 0; r < rows; ++r) {
    float* row = x + r * n;
    const float max_value = *std::max_element(row, row + n);
    float sum = 0.0f;
    for (int64_t i = 0; i < n; ++i) {
      row[i] = std::exp(row[i] - max_value);
      sum += row[i];
    }
    for (int64_t i = 0; i < n; ++i) row[i] /= sum;
  }
}

}  // namespace genrt::ref
