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

TEST(KvCache, ReleaseBeforeGivesBackOnlyBlocksWhollyBeforeThePosition) {
  KvCache cache({.layers = 1, .blocks = 4, .block_size = 16, .kv_heads = 1, .head_dim = 8}, Device::cpu);
  BlockTable table;
  ASSERT_TRUE(cache.reserve(table, 40));  // 3 blocks
  const int32_t second = table.ids.data<int32_t>()[1];
  cache.release_before(table, 15);  // position 15 still lives in block 0
  EXPECT_EQ(table.released, 0);
  cache.release_before(table, 32);  // blocks 0 and 1
  EXPECT_EQ(table.released, 2);
  EXPECT_EQ(cache.free_blocks(), 3);
  EXPECT_EQ(table.ids.data<int32_t>()[0], kReleasedBlock);
  EXPECT_EQ(table.ids.data<int32_t>()[1], kReleasedBlock);
  cache.release_before(table, 20);  // nothing more, nothing twice
  EXPECT_EQ(cache.free_blocks(), 3);
  ASSERT_TRUE(cache.reserve(table, 64));  // grows by position: block 3 of the table
  EXPECT_EQ(table.used, 4);
  EXPECT_EQ(table.ids.data<int32_t>()[3], second);  // the stack hands the last freed block out first
  cache.release_before(table, 1000);  // never past the table's end
  EXPECT_EQ(table.released, 4);
  cache.release(table);
  EXPECT_EQ(table.used, 0);
  EXPECT_EQ(table.released, 0);
  EXPECT_EQ(cache.free_blocks(), 4);
}

TEST(KvCache, RejectsEmptyShapes) {
  EXPECT_ERROR(KvCache({.layers = 1, .blocks = 0, .kv_heads = 1, .head_dim = 8}, Device::cpu),
               "KV cache shape must be positive");
}

}  // namespace
}  // namespace genrt
