#include "runtime/memory/kv_cache.h"

#include <algorithm>
#include <limits>

#include "runtime/memory/device_arena.h"

namespace genrt {

int64_t KvCacheShape::bytes_per_token(DType dtype) const {
  return 2 * layers * kv_heads * head_dim * static_cast<int64_t>(dtype_size(dtype));
}

namespace {
const KvCacheShape& checked(const KvCacheShape& shape) {
  GENRT_CHECK(shape.layers > 0 && shape.blocks > 0 && shape.block_size > 0 && shape.kv_heads > 0 &&
                  shape.head_dim > 0,
              "KV cache shape must be positive: {} layers, {} blocks of {} tokens, {} heads x {}",
              shape.layers, shape.blocks, shape.block_size, shape.kv_heads, shape.head_dim);
  GENRT_CHECK(shape.blocks <= std::numeric_limits<int32_t>::max(), "too many KV blocks: {}",
              shape.blocks);
  return shape;
}
}  // namespace

template <class Allocate>
void KvCache::init(Allocate&& allocate) {
  const Shape pool = {shape_.blocks, shape_.block_size, shape_.kv_heads, shape_.head_dim};
  for (int64_t l = 0; l < shape_.layers; ++l) {
    keys_.push_back(allocate(pool));
    values_.push_back(allocate(pool));
  }
}

KvCache::KvCache(const KvCacheShape& shape, Device device)
    : shape_(checked(shape)), pool_(shape.blocks, shape.block_size) {
  init([&](const Shape& pool) { return Tensor::zeros(pool, DType::f32, device); });
}

KvCache::KvCache(const KvCacheShape& shape, DeviceArena& arena, DType dtype)
    : shape_(checked(shape)), pool_(shape.blocks, shape.block_size) {
  init([&](const Shape& pool) { return arena.allocate(pool, dtype); });
}

int64_t KvCache::blocks_for(int64_t tokens) const {
  return (tokens + shape_.block_size - 1) / shape_.block_size;
}

void KvCache::set_aside_padding_block() {
  if (padding_.used == 0) {
    GENRT_CHECK(reserve(padding_, 1), "the KV cache has no free block to set aside for padding rows");
  }
}

const BlockTable& KvCache::padding_table() const {
  GENRT_CHECK(padding_.used > 0, "the KV cache has no padding block (set_aside_padding_block)");
  return padding_;
}

bool KvCache::reserve(BlockTable& table, int64_t tokens) {
  const int64_t needed = blocks_for(tokens) - table.used;
  if (needed <= 0) return true;
  if (needed > free_blocks()) return false;
  if (table.ids.numel() < table.used + needed) {
    // Grow geometrically; the table is host metadata, not part of the device plan.
    Tensor grown = Tensor::zeros({std::max<int64_t>(2 * table.ids.numel(), table.used + needed)},
                                 DType::i32);
    for (int64_t i = 0; i < table.used; ++i) grown.data<int32_t>()[i] = table.ids.data<int32_t>()[i];
    table.ids = grown;
  }
  for (int64_t i = 0; i < needed; ++i) table.ids.data<int32_t>()[table.used++] = pool_.allocate();
  return true;
}

void KvCache::release_before(BlockTable& table, int64_t position) {
  const int64_t end = std::min(position / shape_.block_size, table.used);
  for (; table.released < end; ++table.released) {
    int32_t& id = table.ids.data<int32_t>()[table.released];
    pool_.release(id);
    id = kReleasedBlock;
  }
}

void KvCache::release(BlockTable& table) {
  // Last block first: of a sequence's cached blocks, its prefix is evicted last.
  for (int64_t i = table.used; i-- > table.released;) pool_.release(table.ids.data<int32_t>()[i]);
  table.used = table.released = table.offered = 0;
}

bool KvCache::writable(const BlockTable& table, int64_t begin, int64_t end) const {
  for (int64_t b = begin / shape_.block_size; b * shape_.block_size < end; ++b) {
    if (b < table.released || b >= table.used || !pool_.exclusive(table.ids.data<int32_t>()[b])) return false;
  }
  return true;
}

namespace {
// Extends `hashes` to the full blocks of `tokens`.
void hash_full_blocks(std::vector<uint64_t>& hashes, std::span<const int32_t> tokens, int64_t block_size) {
  for (auto b = static_cast<int64_t>(hashes.size()); (b + 1) * block_size <= static_cast<int64_t>(tokens.size()); ++b) {
    hashes.push_back(block_hash(b == 0 ? 0 : hashes[b - 1], tokens.subspan(b * block_size, block_size)));
  }
}
}  // namespace

int64_t KvCache::share_cached_prefix(BlockTable& table, std::span<const int32_t> tokens) {
  GENRT_CHECK(table.used == 0, "KV cache: a shared prefix starts an empty block table");
  hash_full_blocks(table.hashes, tokens, shape_.block_size);
  const auto full = static_cast<int64_t>(tokens.size()) / shape_.block_size;
  std::vector<int32_t> shared;
  for (int64_t b = 0; b < full; ++b) {
    const auto block = pool_.find(table.hashes[b], tokens.subspan(b * shape_.block_size, shape_.block_size));
    if (!block) break;
    shared.push_back(*block);
  }
  if (shared.empty()) return 0;
  if (table.ids.numel() < static_cast<int64_t>(shared.size())) table.ids = Tensor::zeros({full}, DType::i32);
  for (int32_t block : shared) {
    pool_.acquire(block);
    table.ids.data<int32_t>()[table.used++] = block;
  }
  table.offered = table.used;
  return table.used;
}

void KvCache::cache_computed(BlockTable& table, std::span<const int32_t> tokens, int64_t computed) {
  const int64_t full = std::min(computed / shape_.block_size, table.used);
  hash_full_blocks(table.hashes, tokens.first(full * shape_.block_size), shape_.block_size);
  for (; table.offered < full; ++table.offered) {
    const int64_t b = table.offered;
    if (b < table.released) continue;  // already out of the sliding window
    pool_.cache(table.ids.data<int32_t>()[b], table.hashes[b], tokens.subspan(b * shape_.block_size, shape_.block_size));
  }
}

}  // namespace genrt
