#include <gtest/gtest.h>

#include <vector>

#include "kernels/ref/matmul.h"

TEST(RefMatmul, LinearWithBias) {
  // a [2, 3] @ w[2, 3]^T + bias
  const float a[6] = {1, 2, 3, 4, 5, 6};
  const float w[6] = {1, 0, -1, 0.5f, 0.5f, 0.5f};
  const float bias[2] = {10, 0};
  float c[4];
  genrt::ref::matmul(a, w, bias, c, 2, 2, 3);
  EXPECT_EQ(c[0], 1 - 3 + 10);
  EXPECT_EQ(c[1], 3.0f);
  EXPECT_EQ(c[2], 4 - 6 + 10);
  EXPECT_EQ(c[3], 7.5f);
}

TEST(RefMatmul, LongDotProductsAcrossLaneBoundary) {
  // k = 19 exercises the 8-lane body and the scalar tail; integers keep it exact.
  const int64_t m = 3, n = 5, k = 19;
  std::vector<float> a(m * k), w(n * k), c(m * n);
  for (int64_t i = 0; i < m * k; ++i) a[i] = static_cast<float>(i % 7 - 3);
  for (int64_t i = 0; i < n * k; ++i) w[i] = static_cast<float>(i % 5 - 2);
  genrt::ref::matmul(a.data(), w.data(), nullptr, c.data(), m, n, k);
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      float expected = 0;
      for (int64_t p = 0; p < k; ++p) expected += a[i * k + p] * w[j * k + p];
      EXPECT_EQ(c[i * n + j], expected) << i << "," << j;
    }
  }
}
