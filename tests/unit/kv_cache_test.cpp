#include <gtest/gtest.h>

#include "runtime/memory/kv_cache.h"
#include "tests/test_util.h"

namespace genrt {
namespace {

TEST(KvCache, ReserveGrowsBlockTablesAndReleaseReturnsBlocks) {
  KvCache cache({.layers = 2, .blocks = 4, .block_size = 16, .kv_heads = 2, .head_dim = 8}, Device::cpu);
  EXPECT_EQ(cache.keys(1).shape(), (Shape{4, 16, 2, 8}));
  BlockTable a, b;
  EXPECT_TRUE(cache.reserve(a, 17));  // 2 blocks
  EXPECT_EQ(a.used, 2);
  EXPECT_EQ(cache.free_blocks(), 2);
  EXPECT_TRUE(cache.reserve(a, 32));  // still 2
  EXPECT_EQ(cache.free_blocks(), 2);
  EXPECT_FALSE(cache.reserve(b, 48));  // needs 3: refused, nothing taken
  EXPECT_EQ(b.used, 0);
  EXPECT_EQ(cache.free_blocks(), 2);
  EXPECT_TRUE(cache.reserve(b, 20));
  EXPECT_EQ(cache.free_blocks(), 0);
  EXPECT_NE(a.ids.data<int32_t>()[0], b.ids.data<int32_t>()[0]);
  cache.release(a);
  EXPECT_EQ(a.used, 0);
  EXPECT_EQ(cache.free_blocks(), 2);
  EXPECT_EQ(KvCacheShape({.layers = 2, .kv_heads = 2, .head_dim = 8}).bytes_per_token(DType::bf16), 128);
}

TEST(KvCache, RejectsEmptyShapes) {
  EXPECT_ERROR(KvCache({.layers = 1, .blocks = 0, .kv_heads = 1, .head_dim = 8}, Device::cpu),
               "KV cache shape must be positive");
}

}  // namespace
}  // namespace genrt
