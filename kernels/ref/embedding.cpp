#include "kernels/ref/embedding.h"

#include <algorithm>

namespace genrt::ref {

void embedding(const float* table, const int32_t* ids, float* out, int64_t n, int64_t dim) {
  for (int64_t i = 0; i < n; ++i) {
    const float* row = table + static_cast<int64_t>(ids[i]) * dim;
    std::copy(row, row + dim, out + i * dim);
  }
}

}  // namespace genrt::ref
