#include <gtest/gtest.h>

#include <cmath>

#include "kernels/ref/layernorm.h"

TEST(RefLayerNorm, HandComputedRowWithAffine) {
  // x = [1, 2, 3, 4]: mean 2.5, biased variance 1.25.
  const float x[4] = {1, 2, 3, 4}, w[4] = {1, 1, 2, 2}, b[4] = {0, 1, 0, 1};
  float out[4];
  genrt::ref::layernorm({.x = x, .weight = w, .bias = b, .out = out, .rows = 1, .dim = 4, .eps = 0});
  const float inv_std = 1.0f / std::sqrt(1.25f);
  EXPECT_NEAR(out[0], -1.5f * inv_std, 1e-6f);
  EXPECT_NEAR(out[1], -0.5f * inv_std + 1, 1e-6f);
  EXPECT_NEAR(out[2], 0.5f * inv_std * 2, 1e-6f);
  EXPECT_NEAR(out[3], 1.5f * inv_std * 2 + 1, 1e-6f);
}

TEST(RefLayerNorm, NoAffineAndLargeMean) {
  // A large common offset must not cost precision (two-pass variance).
  const float x[2] = {10000.0f, 10002.0f};
  float out[2];
  genrt::ref::layernorm({.x = x, .out = out, .rows = 1, .dim = 2, .eps = 0});
  EXPECT_NEAR(out[0], -1.0f, 1e-6f);
  EXPECT_NEAR(out[1], 1.0f, 1e-6f);
}

TEST(RefLayerNorm, ResidualAddIsFused) {
  const float x[2] = {1, 2}, residual[2] = {1, 2};
  float sum[2], out[2];
  genrt::ref::layernorm({.x = x, .residual = residual, .sum_out = sum, .out = out, .rows = 1,
                         .dim = 2, .eps = 0});
  EXPECT_EQ(sum[0], 2.0f);
  EXPECT_EQ(sum[1], 4.0f);
  EXPECT_NEAR(out[0], -1.0f, 1e-6f);
}
