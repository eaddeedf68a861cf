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

TEST(RefAttention, WindowOfOneAttendsOnlyItself) {
  // Three queries over three keys with values 1, 2, 3: with window 1 each query's softmax
  // has one term, so it returns its own position's value exactly, whatever the scores.
  const float q[3] = {4, -2, 7}, k[3] = {1, 5, -3}, v[3] = {1, 2, 3};
  const int32_t table[1] = {0};
  float out[3];
  genrt::ref::attention({.q = q, .k_cache = k, .v_cache = v, .block_table = table, .out = out,
                         .tokens = 3, .q_start = 0, .n_heads = 1, .n_kv_heads = 1, .head_dim = 1,
                         .block_size = 4, .scale = 1.0f, .window = 1});
  EXPECT_EQ(out[0], 1.0f);
  EXPECT_EQ(out[1], 2.0f);
  EXPECT_EQ(out[2], 3.0f);
}

TEST(RefAttention, WindowMasksOlderKeysAndNeverReadsTheirBlocks) {
  // block_size 2, positions 0..4 in blocks [0, 1, 2] holding values NaN, NaN, 20, 30, 40:
  // block 0 holds NaN, as a block back in the pool might hold anything. Zero queries
  // average the values in their window.
  std::vector<float> k(6, 0.0f), v = {NAN, NAN, 20, 30, 40, -1};
  const int32_t table[3] = {0, 1, 2};
  const float q[2] = {0, 0};
  float out[2];
  auto attend = [&](int64_t window) {
    genrt::ref::attention({.q = q, .k_cache = k.data(), .v_cache = v.data(), .block_table = table, .out = out,
                           .tokens = 2, .q_start = 3, .n_heads = 1, .n_kv_heads = 1, .head_dim = 1,
                           .block_size = 2, .scale = 1.0f, .window = window});
  };
  attend(3);  // query 3 sees positions {1, 2, 3}: the NaN; query 4 sees {2, 3, 4}
  EXPECT_TRUE(std::isnan(out[0]));
  EXPECT_FLOAT_EQ(out[1], 30.0f);
  attend(2);  // {2, 3} and {3, 4}: block 0 is never read
  EXPECT_FLOAT_EQ(out[0], 25.0f);
  EXPECT_FLOAT_EQ(out[1], 35.0f);
}

TEST(RefAttention, WindowCoveringTheContextChangesNothing) {
  // 7 queries at positions 5..11 of 12 over pseudo-random keys and values, 2 heads over 1
  // KV head: windows of 12 (the whole context) and more give bit-identical outputs to none.
  const int64_t tokens = 7, q_start = 5, d = 4, heads = 2, context = q_start + tokens;
  std::vector<float> q(tokens * heads * d), k(context * d), v(context * d);
  uint32_t state = 12345;
  auto next = [&] { state = state * 1664525u + 1013904223u; return static_cast<float>(state >> 8) / (1 << 24) - 0.5f; };
  for (auto* x : {&q, &k, &v}) {
    for (float& f : *x) f = 4 * next();
  }
  const int32_t table[3] = {0, 1, 2};
  auto attend = [&](int64_t window) {
    std::vector<float> out(q.size());
    genrt::ref::attention({.q = q.data(), .k_cache = k.data(), .v_cache = v.data(), .block_table = table,
                           .out = out.data(), .tokens = tokens, .q_start = q_start, .n_heads = heads,
                           .n_kv_heads = 1, .head_dim = d, .block_size = 4, .scale = 0.5f, .window = window});
    return out;
  };
  const std::vector<float> full = attend(0);
  EXPECT_EQ(attend(context), full);
  EXPECT_EQ(attend(1000), full);
  EXPECT_NE(attend(context - 1), full);  // the last query loses position 0
}
