#include "kernels/ref/rmsnorm.h"

#include <cmath>
#include <vector>

namespace genrt::ref {

void rmsnorm(const NormArgs& a) {
  std::vector<float> row(static_cast<size_t>(a.dim));
  for (int64_t r = 0; r < a.rows; ++r) {
    const int64_t base = r * a.dim;
    for (int64_t i = 0; i < a.dim; ++i) {
      row[i] = a.x[base + i] + (a.residual ? a.residual[base + i] : 0.0f);
      if (a.residual) a.sum_out[base + i] = row[i];
    }
    double sum_sq = 0.0;
    for (int64_t i = 0; i < a.dim; ++i) sum_sq += double(row[i]) * row[i];
    const float inv_rms = 1.0f / std::sqrt(static_cast<float>(sum_sq / a.dim) + a.eps);
    for (int64_t i = 0; i < a.dim; ++i) {
      a.out[base + i] = row[i] * inv_rms * (a.weight ? a.weight[i] : 1.0f);
    }
  }
}

}  // namespace genrt::ref
