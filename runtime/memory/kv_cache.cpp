#include "runtime/memory/kv_cache.h"

#include <algorithm>
#include <limits>

#include "runtime/memory/device_arena.h"

namespace genrt {

int64_t KvCacheShape::bytes_per_token(DType dtype) const {
  return 2 * layers * kv_heads * head_dim * static_cast<int64_t>(dtype_size(dtype));
}

template <class Allocate>
void KvCache::init(const KvCacheShape& shape, Allocate&& allocate) {
  GENRT_CHECK(shape.layers > 0 && shape.blocks > 0 && shape.block_size > 0 && shape.kv_heads > 0 &&
                  shape.head_dim > 0,
              "KV cache shape must be positive: {} layers, {} blocks of {} tokens, {} heads x {}",
              shape.layers, shape.blocks, shape.block_size, shape.kv_heads, shape.head_dim);
  GENRT_CHECK(shape.blocks <= std::numeric_limits<int32_t>::max(), "too many KV blocks: {}",
              shape.blocks);
  const Shape pool = {shape.blocks, shape.block_size, shape.kv_heads, shape.head_dim};
  for (int64_t l = 0; l < shape.layers; ++l) {
    keys_.push_back(allocate(pool));
    values_.push_back(allocate(pool));
  }
  free_.reserve(static_cast<size_t>(shape.blocks));
  for (int64_t b = shape.blocks; b-- > 0;) free_.push_back(static_cast<int32_t>(b));
}

KvCache::KvCache(const KvCacheShape& shape, Device device) : shape_(shape) {
  init(shape, [&](const Shape& pool) { return Tensor::zeros(pool, DType::f32, device); });
}

KvCache::KvCache(const KvCacheShape& shape, DeviceArena& arena, DType dtype) : shape_(shape) {
  init(shape, [&](const Shape& pool) { return arena.allocate(pool, dtype); });
}

int64_t KvCache::blocks_for(int64_t tokens) const {
  return (tokens + shape_.block_size - 1) / shape_.block_size;
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
  for (int64_t i = 0; i < needed; ++i) {
    table.ids.data<int32_t>()[table.used++] = free_.back();
    free_.pop_back();
  }
  return true;
}

void KvCache::release_before(BlockTable& table, int64_t position) {
  const int64_t end = std::min(position / shape_.block_size, table.used);
  for (; table.released < end; ++table.released) {
    int32_t& id = table.ids.data<int32_t>()[table.released];
    free_.push_back(id);
    id = kReleasedBlock;
  }
}

void KvCache::release(BlockTable& table) {
  for (int64_t i = table.used; i-- > table.released;) free_.push_back(table.ids.data<int32_t>()[i]);
  table.used = table.released = 0;
}

}  // namespace genrt
