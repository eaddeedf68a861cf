#include <gtest/gtest.h>

#include <cmath>

#include "kernels/ref/rope.h"

using genrt::ref::RopeLayout;

TEST(RefRope, RotateHalfPairsIWithIPlusHalf) {
  // head_dim 4: pairs (x0, x2) at frequency 1 and (x1, x3) at frequency 0.5.
  float x[4] = {1, 1, 0, 0};
  const int32_t pos[1] = {1};
  const float inv_freq[2] = {1.0f, 0.5f};
  genrt::ref::rope(x, pos, inv_freq, 1, 1, 4, RopeLayout::rotate_half);
  EXPECT_NEAR(x[0], std::cos(1.0f), 1e-6f);
  EXPECT_NEAR(x[2], std::sin(1.0f), 1e-6f);
  EXPECT_NEAR(x[1], std::cos(0.5f), 1e-6f);
  EXPECT_NEAR(x[3], std::sin(0.5f), 1e-6f);
}

TEST(RefRope, InterleavedPairsNeighbours) {
  float x[4] = {1, 0, 0, 1};
  const int32_t pos[1] = {2};
  const float inv_freq[2] = {1.0f, 0.25f};
  genrt::ref::rope(x, pos, inv_freq, 1, 1, 4, RopeLayout::interleaved);
  EXPECT_NEAR(x[0], std::cos(2.0f), 1e-6f);
  EXPECT_NEAR(x[1], std::sin(2.0f), 1e-6f);
  EXPECT_NEAR(x[2], -std::sin(0.5f), 1e-6f);
  EXPECT_NEAR(x[3], std::cos(0.5f), 1e-6f);
}

TEST(RefRope, PositionZeroIsIdentityAndNormIsKept) {
  float x[2 * 2 * 4] = {1, 2, 3, 4, 5, 6, 7, 8, -1, -2, -3, -4, 0.5f, 0.25f, 2, 1};
  const float original[16] = {1, 2, 3, 4, 5, 6, 7, 8, -1, -2, -3, -4, 0.5f, 0.25f, 2, 1};
  const int32_t pos[2] = {0, 37};  // two tokens, two heads each
  const float inv_freq[2] = {1.0f, 0.01f};
  genrt::ref::rope(x, pos, inv_freq, 2, 2, 4, RopeLayout::rotate_half);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(x[i], original[i]);
  for (int h = 2; h < 4; ++h) {
    const float* r = x + h * 4;
    const float* o = original + h * 4;
    EXPECT_NEAR(r[0] * r[0] + r[2] * r[2], o[0] * o[0] + o[2] * o[2], 1e-5f);
  }
}
