#include "kernels/ref/norm.h"

#include <cmath>

namespace genrt::ref {

namespace {

struct RowStats {
  float mean = 0.0f;
  float rstd = 0.0f;
};

// fp64 sums; LayerNorm's variance in a second pass, so rows with a large mean lose nothing
// to cancellation.
RowStats row_stats(NormKind kind, const float* row, int64_t dim, float eps) {
  double mean = 0.0;
  if (kind == NormKind::layer) {
    for (int64_t i = 0; i < dim; ++i) mean += row[i];
    mean /= static_cast<double>(dim);
  }
  double sum_sq = 0.0;
  for (int64_t i = 0; i < dim; ++i) sum_sq += (row[i] - mean) * (row[i] - mean);
  return {.mean = static_cast<float>(mean),
          .rstd = 1.0f / std::sqrt(static_cast<float>(sum_sq / static_cast<double>(dim)) + eps)};
}

}  // namespace

void norm(const NormArgs<float>& a) {
  for (int64_t r = 0; r < a.rows; ++r) {
    const int64_t g = r / a.rows_per_group;
    float* row = a.residual + r * a.dim;
    float* out = a.out + r * a.dim;
    const float* gate = a.gate != nullptr ? a.gate + g * a.dim : nullptr;
    const float* shift = a.shift != nullptr ? a.shift + g * a.dim : nullptr;
    const float* scale = a.scale != nullptr ? a.scale + g * a.dim : nullptr;
    if (a.x != nullptr) {
      for (int64_t i = 0; i < a.dim; ++i) {
        row[i] = residual_add(row[i], gate != nullptr ? gate[i] : 1.0f, a.x[r * a.dim + i]);
      }
    }
    const RowStats s = row_stats(a.kind, row, a.dim, a.eps);
    for (int64_t i = 0; i < a.dim; ++i) {
      out[i] = normalized_value(row[i], s.mean, s.rstd, a.weight != nullptr ? a.weight[i] : 1.0f,
                                a.bias != nullptr ? a.bias[i] : 0.0f, scale != nullptr ? scale[i] : 0.0f,
                                shift != nullptr ? shift[i] : 0.0f);
    }
  }
}

}  // namespace genrt::ref
