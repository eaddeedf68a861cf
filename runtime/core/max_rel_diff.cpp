#include "runtime/core/max_rel_diff.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace genrt {

double max_rel_diff(const float* got, const float* want, size_t n) {
  double worst = 0.0;
  for (size_t i = 0; i < n; ++i) {
    const double d = std::fabs(static_cast<double>(got[i]) - want[i]) / (1.0 + std::fabs(want[i]));
    if (std::isnan(d)) return std::numeric_limits<double>::infinity();
    worst = std::max(worst, d);
  }
  return worst;
}

}  // namespace genrt
