#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/ref/attention.h"

using genrt::ref::AttentionArgs;

TEST(RefAttention, FirstQueryReturnsFirstValue) {
  // One key: softmax over a single score is 1, so the output is that value exactly.
  const float q[2] = {3, -1}, k[2] = {1, 1}, v[2] = {0.25f, -4};
  const int32_t table[1] = {0};
  float out[2];
  genrt::ref::attention({.q = q, .k_cache = k, .v_cache = v, .block_table = table, .out = out,
                         .tokens = 1, .q_start = 0, .n_heads = 1, .n_kv_heads = 1, .head_dim = 2,
                         .block_size = 1, .scale = 1.0f});
  EXPECT_EQ(out[0], 0.25f);
  EXPECT_EQ(out[1], -4.0f);
}

TEST(RefAttention, CausalTwoTokensByHand) {
  // Keys k0 = [1, 0], k1 = [0, 1]; values v0 = [1, 0], v1 = [0, 1]; scale 1.
  // Query 0 sees only position 0; query 1 = [ln 3, 0] scores [ln 3, 0] -> weights [3/4, 1/4].
  const float q[4] = {5, 5, std::log(3.0f), 0};
  const float k[4] = {1, 0, 0, 1}, v[4] = {1, 0, 0, 1};
  const int32_t table[1] = {0};
  float out[4];
  genrt::ref::attention({.q = q, .k_cache = k, .v_cache = v, .block_table = table, .out = out,
                         .tokens = 2, .q_start = 0, .n_heads = 1, .n_kv_heads = 1, .head_dim = 2,
                         .block_size = 4, .scale = 1.0f});
  EXPECT_FLOAT_EQ(out[0], 1.0f);
  EXPECT_FLOAT_EQ(out[1], 0.0f);
  EXPECT_NEAR(out[2], 0.75f, 1e-6f);
  EXPECT_NEAR(out[3], 0.25f, 1e-6f);
}

TEST(RefAttention, GqaHeadsShareKvAndBlocksArePaged) {
  // 4 query heads over 2 KV heads, block_size 2, positions 0..2 in blocks [3, 1] of a
  // 4-block pool. Queries are zero, so each head averages the values of its KV head.
  const int64_t heads = 4, kv_heads = 2, d = 1, block = 2, pool_blocks = 4;
  std::vector<float> k(pool_blocks * block * kv_heads * d, 0.0f), v(k.size(), -100.0f);
  const int32_t table[2] = {3, 1};
  auto slot = [&](int64_t pos, int64_t h) { return (table[pos / block] * block + pos % block) * kv_heads + h; };
  for (int64_t pos = 0; pos < 3; ++pos) {
    v[slot(pos, 0)] = static_cast<float>(pos);        // KV head 0: 0, 1, 2
    v[slot(pos, 1)] = static_cast<float>(10 * pos);   // KV head 1: 0, 10, 20
  }
  const float q[heads * d] = {0, 0, 0, 0};
  float out[heads * d];
  genrt::ref::attention({.q = q, .k_cache = k.data(), .v_cache = v.data(), .block_table = table,
                         .out = out, .tokens = 1, .q_start = 2, .n_heads = heads,
                         .n_kv_heads = kv_heads, .head_dim = d, .block_size = block, .scale = 1});
  EXPECT_FLOAT_EQ(out[0], 1.0f);   // heads 0, 1 -> KV head 0
  EXPECT_FLOAT_EQ(out[1], 1.0f);
  EXPECT_FLOAT_EQ(out[2], 10.0f);  // heads 2, 3 -> KV head 1
  EXPECT_FLOAT_EQ(out[3], 10.0f);
}
