#include "runtime/memory/block_pool.h"

#include <algorithm>

#include "runtime/core/error.h"

namespace genrt {

namespace {
// splitmix64's finalizer: every input bit reaches every output bit.
uint64_t mix(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
}  // namespace

uint64_t block_hash(uint64_t parent, std::span<const int32_t> tokens) {
  uint64_t h = mix(parent + 0x9e3779b97f4a7c15ULL);
  for (int32_t t : tokens) h = mix(h ^ static_cast<uint32_t>(t));
  return h;
}

BlockPool::BlockPool(int64_t blocks, int64_t block_size)
    : block_size_(block_size),
      entries_(static_cast<size_t>(blocks)),
      tokens_(static_cast<size_t>(blocks * block_size)) {
  free_.reserve(static_cast<size_t>(blocks));
  for (int64_t b = blocks; b-- > 0;) free_.push_back(static_cast<int32_t>(b));
}

int32_t BlockPool::allocate() {
  GENRT_CHECK(available() > 0, "KV block pool: no block to allocate");
  int32_t block;
  if (!free_.empty()) {
    block = free_.back();
    free_.pop_back();
  } else {  // evict the least recently released cached block
    block = lru_.front();
    lru_.pop_front();
    cached_.erase(*entries_[block].hash);
    entries_[block].hash.reset();
  }
  entries_[block].refs = 1;
  return block;
}

void BlockPool::acquire(int32_t block) {
  Entry& e = entries_[block];
  GENRT_CHECK(e.refs > 0 || e.hash, "KV block pool: block {} is neither held nor cached", block);
  if (e.refs++ == 0) lru_.erase(e.lru);
}

void BlockPool::release(int32_t block) {
  Entry& e = entries_[block];
  GENRT_CHECK(e.refs > 0, "KV block pool: block {} released more often than held", block);
  if (--e.refs > 0) return;
  if (e.hash) {
    e.lru = lru_.insert(lru_.end(), block);
  } else {
    free_.push_back(block);
  }
}

std::optional<int32_t> BlockPool::find(uint64_t hash, std::span<const int32_t> tokens) const {
  const auto it = cached_.find(hash);
  if (it == cached_.end()) return std::nullopt;
  const auto held = std::span(tokens_).subspan(static_cast<size_t>(it->second * block_size_), tokens.size());
  if (!std::equal(held.begin(), held.end(), tokens.begin(), tokens.end())) return std::nullopt;  // a hash collision
  return it->second;
}

void BlockPool::cache(int32_t block, uint64_t hash, std::span<const int32_t> tokens) {
  GENRT_CHECK(static_cast<int64_t>(tokens.size()) == block_size_ && entries_[block].refs > 0,
              "KV block pool: only a held, full block can be cached");
  if (entries_[block].hash || !cached_.emplace(hash, block).second) return;
  entries_[block].hash = hash;
  std::copy(tokens.begin(), tokens.end(), tokens_.begin() + block * block_size_);
}

}  // namespace genrt
