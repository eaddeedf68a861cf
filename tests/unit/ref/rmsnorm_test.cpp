#include <gtest/gtest.h>

#include <cmath>

#include "kernels/ref/rmsnorm.h"

using genrt::ref::NormArgs;

TEST(RefRmsNorm, HandComputedRow) {
  // x = [3, 4]: mean(x^2) = 12.5, 1/rms = 1/sqrt(12.5) = 0.28284271.
  const float x[2] = {3, 4}, w[2] = {1, 2};
  float out[2];
  genrt::ref::rmsnorm({.x = x, .weight = w, .out = out, .rows = 1, .dim = 2, .eps = 0.0f});
  EXPECT_NEAR(out[0], 3 * 0.28284271f, 1e-6f);
  EXPECT_NEAR(out[1], 4 * 0.28284271f * 2, 1e-6f);
}

TEST(RefRmsNorm, ResidualAddIsFused) {
  // Two rows; residual + x = [[1, 1], [0, 2]].
  const float x[4] = {0.5f, 0.5f, 0, 1}, residual[4] = {0.5f, 0.5f, 0, 1}, w[2] = {1, 1};
  float sum[4], out[4];
  genrt::ref::rmsnorm({.x = x, .residual = residual, .sum_out = sum, .weight = w, .out = out,
                       .rows = 2, .dim = 2, .eps = 1e-6f});
  EXPECT_EQ(sum[0], 1.0f);
  EXPECT_EQ(sum[3], 2.0f);
  EXPECT_NEAR(out[0], 1.0f, 1e-5f);      // rms of [1, 1] is 1
  EXPECT_NEAR(out[3], std::sqrt(2.0f), 1e-5f);  // rms of [0, 2] is sqrt(2)
}

TEST(RefRmsNorm, EpsDominatesZeroRow) {
  const float x[3] = {0, 0, 0};
  float out[3];
  genrt::ref::rmsnorm({.x = x, .out = out, .rows = 1, .dim = 3, .eps = 1e-5f});
  for (float v : out) EXPECT_EQ(v, 0.0f);
}
