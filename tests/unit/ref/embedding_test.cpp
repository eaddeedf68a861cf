#include <gtest/gtest.h>

#include "kernels/ref/embedding.h"

TEST(RefEmbedding, GathersRows) {
  const float table[3 * 2] = {0, 1, 10, 11, 20, 21};  // [vocab 3, dim 2]
  const int32_t ids[4] = {2, 0, 2, 1};
  float out[4 * 2];
  genrt::ref::embedding(table, ids, out, 4, 2);
  const float expected[8] = {20, 21, 0, 1, 20, 21, 10, 11};
  for (int i = 0; i < 8; ++i) EXPECT_EQ(out[i], expected[i]);
}
