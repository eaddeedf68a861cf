#include "kernels/ref/argmax.h"

namespace genrt::ref {

int64_t argmax(const float* x, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i) {
    const bool best_is_nan = x[best] != x[best], is_nan = x[i] != x[i];
    if (!is_nan && (x[i] > x[best] || best_is_nan)) best = i;
  }
  return best;
}

}  // namespace genrt::ref
