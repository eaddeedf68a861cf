#include <gtest/gtest.h>

#include <vector>

#include "kernels/ref/kv_cache_write.h"

TEST(RefKvCacheWrite, WritesTokensIntoTheirSlots) {
  // block_size 2, row 1; positions 1..3 of a sequence whose blocks are [2, 0]: slots 5, 0, 1.
  std::vector<float> kc(3 * 2, -1), vc(3 * 2, -1);
  const float k[3] = {10, 11, 12}, v[3] = {20, 21, 22};
  const int32_t slots[3] = {2 * 2 + 1, 0, 1};
  genrt::ref::kv_cache_write(
      {.k = k, .v = v, .slots = slots, .k_cache = kc.data(), .v_cache = vc.data(), .tokens = 3, .row = 1});
  EXPECT_EQ(kc[2 * 2 + 1], 10);  // position 1: block 2, slot 1
  EXPECT_EQ(kc[0 * 2 + 0], 11);  // position 2: block 0, slot 0
  EXPECT_EQ(vc[0 * 2 + 1], 22);  // position 3: block 0, slot 1
  EXPECT_EQ(kc[2 * 2 + 0], -1);  // position 0 untouched
}
