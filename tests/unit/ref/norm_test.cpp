#include <gtest/gtest.h>

#include <cmath>

#include "kernels/ref/norm.h"

namespace genrt::ref {
namespace {

TEST(RefRmsNorm, HandComputedRow) {
  // x = [3, 4]: mean(x^2) = 12.5, 1/rms = 1/sqrt(12.5) = 0.28284271.
  float x[2] = {3, 4};
  const float w[2] = {1, 2};
  float out[2];
  norm({.kind = NormKind::rms, .residual = x, .weight = w, .out = out, .rows = 1, .dim = 2, .eps = 0.0f});
  EXPECT_NEAR(out[0], 3 * 0.28284271f, 1e-6f);
  EXPECT_NEAR(out[1], 4 * 0.28284271f * 2, 1e-6f);
}

TEST(RefRmsNorm, ResidualAddIsFused) {
  // Two rows; residual + x = [[1, 1], [0, 2]].
  const float x[4] = {0.5f, 0.5f, 0, 1}, w[2] = {1, 1};
  float residual[4] = {0.5f, 0.5f, 0, 1}, out[4];
  norm({.kind = NormKind::rms, .x = x, .residual = residual, .weight = w, .out = out, .rows = 2, .dim = 2,
        .eps = 1e-6f});
  EXPECT_EQ(residual[0], 1.0f);
  EXPECT_EQ(residual[3], 2.0f);
  EXPECT_NEAR(out[0], 1.0f, 1e-5f);             // rms of [1, 1] is 1
  EXPECT_NEAR(out[3], std::sqrt(2.0f), 1e-5f);  // rms of [0, 2] is sqrt(2)
}

TEST(RefRmsNorm, EpsDominatesZeroRow) {
  float x[3] = {0, 0, 0};
  float out[3];
  norm({.kind = NormKind::rms, .residual = x, .out = out, .rows = 1, .dim = 3, .eps = 1e-5f});
  for (float v : out) EXPECT_EQ(v, 0.0f);
}

TEST(RefLayerNorm, HandComputedRowWithAffine) {
  // x = [1, 2, 3, 4]: mean 2.5, biased variance 1.25.
  float x[4] = {1, 2, 3, 4};
  const float w[4] = {1, 1, 2, 2}, b[4] = {0, 1, 0, 1};
  float out[4];
  norm({.kind = NormKind::layer, .residual = x, .weight = w, .bias = b, .out = out, .rows = 1, .dim = 4, .eps = 0});
  const float inv_std = 1.0f / std::sqrt(1.25f);
  EXPECT_NEAR(out[0], -1.5f * inv_std, 1e-6f);
  EXPECT_NEAR(out[1], -0.5f * inv_std + 1, 1e-6f);
  EXPECT_NEAR(out[2], 0.5f * inv_std * 2, 1e-6f);
  EXPECT_NEAR(out[3], 1.5f * inv_std * 2 + 1, 1e-6f);
}

TEST(RefLayerNorm, NoAffineAndLargeMean) {
  // A large common offset must not cost precision (two-pass variance).
  float x[2] = {10000.0f, 10002.0f};
  float out[2];
  norm({.kind = NormKind::layer, .residual = x, .out = out, .rows = 1, .dim = 2, .eps = 0});
  EXPECT_NEAR(out[0], -1.0f, 1e-6f);
  EXPECT_NEAR(out[1], 1.0f, 1e-6f);
}

TEST(RefLayerNorm, ResidualAddIsFused) {
  const float x[2] = {1, 2};
  float residual[2] = {1, 2}, out[2];
  norm({.kind = NormKind::layer, .x = x, .residual = residual, .out = out, .rows = 1, .dim = 2, .eps = 0});
  EXPECT_EQ(residual[0], 2.0f);
  EXPECT_EQ(residual[1], 4.0f);
  EXPECT_NEAR(out[0], -1.0f, 1e-6f);
}

TEST(RefModulatedLayerNorm, GatedAddThenNormThenPerSampleModulation) {
  // Two samples of one token each, dim 2: residual += gate * x, then LN * (1 + scale) + shift.
  float residual[4] = {1, 3, 0, 0};
  const float x[4] = {1, 1, 2, -2}, gate[4] = {0.5f, 0.5f, 1, 1};
  const float shift[4] = {10, 20, 0, 0}, scale[4] = {1, 0, -1, 2};
  float out[4];
  norm({.kind = NormKind::layer, .x = x, .gate = gate, .residual = residual, .shift = shift, .scale = scale,
        .out = out, .rows = 2, .dim = 2, .rows_per_group = 1, .eps = 0.0f});
  EXPECT_FLOAT_EQ(residual[0], 1.5f);  // 1 + 0.5 * 1
  EXPECT_FLOAT_EQ(residual[1], 3.5f);
  EXPECT_FLOAT_EQ(residual[2], 2.0f);
  EXPECT_FLOAT_EQ(residual[3], -2.0f);
  // Row 0 normalizes to (-1, 1): (-1 * 2 + 10, 1 * 1 + 20). Row 1: (1 * 0, -1 * 3).
  EXPECT_NEAR(out[0], 8.0f, 1e-5f);
  EXPECT_NEAR(out[1], 21.0f, 1e-5f);
  EXPECT_NEAR(out[2], 0.0f, 1e-5f);
  EXPECT_NEAR(out[3], -3.0f, 1e-5f);
}

TEST(RefModulatedLayerNorm, RowsShareTheirSamplesModulation) {
  float residual[6] = {0, 2, 4, 6, 8, 10};  // 3 tokens of one sample, dim 2
  const float shift[2] = {1, 1}, scale[2] = {0, 0};
  float out[6];
  norm({.kind = NormKind::layer, .residual = residual, .shift = shift, .scale = scale, .out = out, .rows = 3,
        .dim = 2, .rows_per_group = 3, .eps = 0.0f});
  for (int r = 0; r < 3; ++r) {
    EXPECT_NEAR(out[2 * r], 0.0f, 1e-5f);
    EXPECT_NEAR(out[2 * r + 1], 2.0f, 1e-5f);
  }
}

}  // namespace
}  // namespace genrt::ref
