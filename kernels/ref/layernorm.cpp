#include "kernels/ref/layernorm.h"

#include <cmath>
#include <vector>

namespace genrt::ref {

void layernorm(const NormArgs& a) {
  std::vector<float> row(static_cast<size_t>(a.dim));
  for (int64_t r = 0; r < a.rows; ++r) {
    const int64_t base = r * a.dim;
    double sum = 0.0;
    for (int64_t i = 0; i < a.dim; ++i) {
      row[i] = a.x[base + i] + (a.residual ? a.residual[base + i] : 0.0f);
      if (a.residual) a.sum_out[base + i] = row[i];
      sum += row[i];
    }
    const double mean = sum / a.dim;
    double sum_sq = 0.0;  // two-pass variance: no cancellation for rows with a large mean
    for (int64_t i = 0; i < a.dim; ++i) sum_sq += (row[i] - mean) * (row[i] - mean);
    const float inv_std = 1.0f / std::sqrt(static_cast<float>(sum_sq / a.dim) + a.eps);
    for (int64_t i = 0; i < a.dim; ++i) {
      const float normed = static_cast<float>(row[i] - mean) * inv_std;
      a.out[base + i] = normed * (a.weight ? a.weight[i] : 1.0f) + (a.bias ? a.bias[i] : 0.0f);
    }
  }
}

}  // namespace genrt::ref
