// max_rel_diff: relative away from zero, absolute near it, and NaN fails every tolerance.

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "runtime/core/max_rel_diff.h"

namespace genrt {
namespace {

TEST(MaxRelDiff, RelativeAwayFromZeroAbsoluteNearIt) {
  const std::vector<float> want = {0.0f, 99.0f, -3.0f};
  const std::vector<float> got = {0.01f, 100.0f, -3.0f};
  EXPECT_NEAR(max_rel_diff(got.data(), want.data(), want.size()), 0.01, 1e-6);
  EXPECT_EQ(max_rel_diff(want.data(), want.data(), want.size()), 0.0);
}

TEST(MaxRelDiff, NanAnywhereFailsTheComparison) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> want = {1.0f, 2.0f}, got = {100.0f, nan};
  const double diff = max_rel_diff(got.data(), want.data(), want.size());
  EXPECT_TRUE(std::isinf(diff));
  EXPECT_FALSE(diff <= 1e-2);
  EXPECT_TRUE(std::isinf(max_rel_diff(want.data(), got.data(), want.size())));
}

}  // namespace
}  // namespace genrt
