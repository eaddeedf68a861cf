#include "kernels/ref/group_norm.h"

#include <cmath>

namespace genrt::ref {

namespace {

float input_value(const GroupNormArgs<float>& a, int64_t b, int64_t p, int64_t c) {
  const float add = a.channel_add != nullptr ? a.channel_add[b * a.channels + c] : 0.0f;
  return a.x[(b * a.pixels + p) * a.channels + c] + add;
}

}  // namespace

// fp64 sums, the variance in a second pass: groups are large (a 64x64 image has 40k values
// per group at SD 1.5's widths), where one-pass fp32 sums lose digits.
void group_norm(const GroupNormArgs<float>& a) {
  const int64_t per_group = a.channels / a.groups;
  const auto count = static_cast<double>(a.pixels * per_group);
  for (int64_t b = 0; b < a.batch; ++b) {
    for (int64_t g = 0; g < a.groups; ++g) {
      const int64_t c0 = g * per_group, c1 = c0 + per_group;
      double mean = 0.0;
      for (int64_t p = 0; p < a.pixels; ++p) {
        for (int64_t c = c0; c < c1; ++c) mean += input_value(a, b, p, c);
      }
      mean /= count;
      double sum_sq = 0.0;
      for (int64_t p = 0; p < a.pixels; ++p) {
        for (int64_t c = c0; c < c1; ++c) sum_sq += (input_value(a, b, p, c) - mean) * (input_value(a, b, p, c) - mean);
      }
      const float rstd = 1.0f / std::sqrt(static_cast<float>(sum_sq / count) + a.eps);
      for (int64_t p = 0; p < a.pixels; ++p) {
        for (int64_t c = c0; c < c1; ++c) {
          a.out[(b * a.pixels + p) * a.channels + c] =
              group_norm_value(input_value(a, b, p, c), static_cast<float>(mean), rstd,
                               a.weight != nullptr ? a.weight[c] : 1.0f, a.bias != nullptr ? a.bias[c] : 0.0f, a.silu);
        }
      }
    }
  }
}

}  // namespace genrt::ref
