// The KV block pool: reference counts, the prefix cache's keys and its LRU eviction, and
// KvCache's tables sharing cached blocks.

#include <gtest/gtest.h>

#include <numeric>

#include "runtime/memory/kv_cache.h"
#include "tests/test_util.h"

namespace genrt {
namespace {

std::vector<int32_t> tokens(int32_t first, int64_t n) {
  std::vector<int32_t> t(static_cast<size_t>(n));
  std::iota(t.begin(), t.end(), first);
  return t;
}

TEST(BlockHash, ChainsThePrefix) {
  const auto a = tokens(0, 4), b = tokens(4, 4);
  EXPECT_EQ(block_hash(block_hash(0, a), b), block_hash(block_hash(0, a), b));
  EXPECT_NE(block_hash(0, b), block_hash(block_hash(0, a), b));  // same tokens, another prefix
  EXPECT_NE(block_hash(0, a), block_hash(0, b));
  EXPECT_NE(block_hash(0, std::vector<int32_t>{1, 2}), block_hash(0, std::vector<int32_t>{2, 1}));
}

TEST(BlockPool, ReferenceCountsKeepASharedBlockUntilTheLastRelease) {
  BlockPool pool(2, 4);
  const auto t = tokens(10, 4);
  const int32_t block = pool.allocate();
  pool.cache(block, 42, t);
  ASSERT_EQ(pool.find(42, t), block);
  pool.acquire(block);  // a second table shares it
  pool.release(block);
  EXPECT_EQ(pool.available(), 1);  // still held by the other
  pool.release(block);
  EXPECT_EQ(pool.available(), 2);
  EXPECT_EQ(pool.cached_unreferenced(), 1);
  EXPECT_EQ(pool.find(42, t), block);  // kept, to be shared again
  pool.acquire(block);
  EXPECT_EQ(pool.cached_unreferenced(), 0);
  EXPECT_ERROR(pool.cache(pool.allocate(), 7, tokens(0, 3)), "only a held, full block can be cached");
}

TEST(BlockPool, FindChecksTheTokensAndTheFirstCachedBlockKeepsTheKey) {
  BlockPool pool(3, 4);
  const auto t = tokens(0, 4);
  const int32_t first = pool.allocate(), second = pool.allocate();
  pool.cache(first, 5, t);
  pool.cache(second, 5, t);  // computed twice: the key stays with the first
  EXPECT_EQ(pool.find(5, t), first);
  EXPECT_EQ(pool.find(5, tokens(1, 4)), std::nullopt);  // a key collision is no hit
  EXPECT_EQ(pool.find(6, t), std::nullopt);
  pool.release(second);  // uncached: straight back to the free list
  EXPECT_EQ(pool.cached_unreferenced(), 0);
  EXPECT_EQ(pool.available(), 2);
}

TEST(BlockPool, FreeBlocksGoFirstThenCachedOnesLeastRecentlyReleased) {
  BlockPool pool(3, 2);
  int32_t b[3];
  for (int i = 0; i < 3; ++i) {
    b[i] = pool.allocate();
    pool.cache(b[i], 100 + i, tokens(i, 2));
  }
  pool.release(b[1]);
  pool.release(b[0]);
  pool.release(b[2]);
  EXPECT_EQ(pool.cached_unreferenced(), 3);
  pool.acquire(b[1]);  // shared again: leaves the LRU
  pool.release(b[1]);  // and is now the most recent
  EXPECT_EQ(pool.allocate(), b[0]);  // evicted: the least recently released
  EXPECT_EQ(pool.find(100, tokens(0, 2)), std::nullopt);
  EXPECT_EQ(pool.allocate(), b[2]);
  EXPECT_EQ(pool.find(101, tokens(1, 2)), b[1]);
  EXPECT_EQ(pool.allocate(), b[1]);
  EXPECT_EQ(pool.available(), 0);
  EXPECT_ERROR(pool.allocate(), "no block to allocate");
  pool.release(b[0]);
  EXPECT_ERROR(pool.release(b[0]), "released more often than held");
}

class SharedKvCache : public ::testing::Test {
 protected:
  KvCache cache_{{.layers = 1, .blocks = 6, .block_size = 4, .kv_heads = 1, .head_dim = 2}, Device::cpu};
  static int32_t id(const BlockTable& t, int64_t b) { return t.ids.data<int32_t>()[b]; }
};

TEST_F(SharedKvCache, ATableSharesTheComputedFullBlocksOfItsPrefix) {
  const auto prompt = tokens(0, 10);  // 2 full blocks and 2 tokens
  BlockTable a;
  EXPECT_EQ(cache_.share_cached_prefix(a, prompt), 0);
  ASSERT_TRUE(cache_.reserve(a, 11));
  cache_.cache_computed(a, prompt, 5);  // only block 0 is full and computed
  EXPECT_EQ(a.offered, 1);
  EXPECT_FALSE(cache_.writable(a, 0, 4));  // cached: held by a alone, but any table may share it
  EXPECT_TRUE(cache_.writable(a, 5, 11));
  BlockTable b;
  EXPECT_EQ(cache_.share_cached_prefix(b, prompt), 1);
  EXPECT_EQ(id(b, 0), id(a, 0));
  cache_.release(b);
  cache_.cache_computed(a, prompt, 10);
  EXPECT_EQ(cache_.share_cached_prefix(b, prompt), 2);
  EXPECT_EQ(id(b, 1), id(a, 1));
  EXPECT_EQ(cache_.free_blocks(), 3);  // a holds 3, b shares 2 of them
  ASSERT_TRUE(cache_.reserve(b, 11));  // its own third block
  EXPECT_NE(id(b, 2), id(a, 2));
  EXPECT_EQ(cache_.free_blocks(), 2);
  // Only a block a table holds alone, uncached, may be written.
  EXPECT_TRUE(cache_.writable(b, 8, 11));
  EXPECT_FALSE(cache_.writable(b, 7, 9));   // position 7 is in shared block 1
  EXPECT_FALSE(cache_.writable(b, 8, 13));  // past the table

  auto other = prompt;
  other[5] = 99;  // differs in block 1: only block 0 is shared
  BlockTable c;
  EXPECT_EQ(cache_.share_cached_prefix(c, other), 1);
  cache_.release(c);
  cache_.release(a);
  EXPECT_EQ(cache_.free_blocks(), 3);  // b still holds its 3
  cache_.release(b);
  EXPECT_EQ(cache_.free_blocks(), 6);
  EXPECT_EQ(cache_.cached_free_blocks(), 2);
}

TEST_F(SharedKvCache, ASlidingWindowReleaseOfASharedBlockDropsOnlyOneReference) {
  const auto prompt = tokens(0, 12);
  BlockTable a, b;
  ASSERT_TRUE(cache_.reserve(a, 13));
  cache_.cache_computed(a, prompt, 12);
  ASSERT_EQ(cache_.share_cached_prefix(b, prompt), 3);
  cache_.release_before(a, 8);  // a's window has left blocks 0 and 1
  EXPECT_EQ(a.released, 2);
  EXPECT_EQ(cache_.free_blocks(), 2);  // b holds all three, a its fourth
  BlockTable c;
  EXPECT_EQ(cache_.share_cached_prefix(c, prompt), 3);  // still cached and valid
  cache_.release(c);
  cache_.release(b);
  cache_.release(a);
  EXPECT_EQ(cache_.free_blocks(), 6);
}

TEST_F(SharedKvCache, ReserveEvictsCachedBlocksBeforeRefusing) {
  const auto prompt = tokens(0, 16);
  BlockTable a;
  ASSERT_TRUE(cache_.reserve(a, 16));
  cache_.cache_computed(a, prompt, 16);
  cache_.release(a);
  EXPECT_EQ(cache_.cached_free_blocks(), 4);
  BlockTable big;
  ASSERT_TRUE(cache_.reserve(big, 24));  // 2 free + 4 cached: takes the free ones, evicts 4
  EXPECT_EQ(cache_.cached_free_blocks(), 0);
  EXPECT_EQ(cache_.share_cached_prefix(a, prompt), 0);
  EXPECT_FALSE(cache_.reserve(a, 1));
}

}  // namespace
}  // namespace genrt
