#pragma once
// The KV cache's block ids and the prefix cache over them.
//
// Each block has a reference count: the block tables that hold it. A block whose count
// falls to zero goes back to the free list, unless it is in the prefix cache: a full
// block whose keys and values are computed, found again by the hash of its tokens and of
// everything before them (block_hash). Such a block stays cached, unreferenced, until it
// is shared again or evicted, least recently released first, when no free block is left.
// Only full blocks are cached, so a block that is shared is never written again.

#include <cstdint>
#include <list>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

namespace genrt {

// The prefix-cache key of a block of `tokens` that follows the blocks hashed `parent`
// (0 for the first block): a chain, so equal keys mean equal prefixes.
uint64_t block_hash(uint64_t parent, std::span<const int32_t> tokens);

class BlockPool {
 public:
  BlockPool(int64_t blocks, int64_t block_size);

  int64_t total() const { return static_cast<int64_t>(entries_.size()); }
  // Blocks allocate() can hand out: free ones and cached ones no table holds.
  int64_t available() const { return static_cast<int64_t>(free_.size() + lru_.size()); }
  // Cached blocks no table holds (part of available()).
  int64_t cached_unreferenced() const { return static_cast<int64_t>(lru_.size()); }

  // A block for one table (count 1): a free one, else the least recently released cached
  // one, which leaves the cache. Requires available() > 0.
  int32_t allocate();
  // One more table holds `block`, a cached one (from find) or one it already holds.
  void acquire(int32_t block);
  // One table less holds `block`; at zero it is free again, or kept if it is cached.
  void release(int32_t block);

  // Only one table holds `block` and the cache does not: writing it changes no one else's.
  bool exclusive(int32_t block) const { return entries_[block].refs == 1 && !entries_[block].hash; }

  // The cached block of `tokens` under key `hash`, if any.
  std::optional<int32_t> find(uint64_t hash, std::span<const int32_t> tokens) const;
  // `block`, held and now full of computed `tokens`, enters the cache under `hash`, unless
  // another block holds that key already (then `block` stays uncached).
  void cache(int32_t block, uint64_t hash, std::span<const int32_t> tokens);

 private:
  struct Entry {
    int32_t refs = 0;
    std::optional<uint64_t> hash;               // set while cached
    std::list<int32_t>::iterator lru;           // valid while cached and unreferenced
  };

  int64_t block_size_;
  std::vector<Entry> entries_;
  std::vector<int32_t> tokens_;  // [blocks, block_size]: a cached block's tokens, to check a hit
  std::vector<int32_t> free_;    // a stack: the most recently freed block is reused first
  std::list<int32_t> lru_;       // cached, unreferenced blocks, least recently released first
  std::unordered_map<uint64_t, int32_t> cached_;
};

}  // namespace genrt
