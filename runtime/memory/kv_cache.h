#pragma once
// The paged KV cache: per layer one K and one V pool of fixed-size token blocks, and a
// free list of block ids shared by all layers. A sequence owns a block table; block b of
// every layer holds the same token positions, so one table serves the whole model.

#include <cstdint>
#include <vector>

#include "runtime/core/tensor.h"

namespace genrt {

struct KvCacheShape {
  int64_t layers = 0;
  int64_t blocks = 0;
  int64_t block_size = 16;  // token slots per block
  int64_t kv_heads = 0;
  int64_t head_dim = 0;

  int64_t bytes_per_token(DType dtype) const;  // K and V over all layers
};

// The id a block table keeps for a block it gave back early (KvCache::release_before).
inline constexpr int32_t kReleasedBlock = -1;

// A sequence's blocks, in position order: entry b holds positions [b * block_size,
// (b + 1) * block_size).
struct BlockTable {
  Tensor ids;               // [capacity] i32; entries [released, used) are live
  int64_t used = 0;
  int64_t released = 0;     // leading entries back in the pool, now kReleasedBlock
};

class DeviceArena;

class KvCache {
 public:
  // fp32 pools of their own (the CPU reference).
  KvCache(const KvCacheShape& shape, Device device);
  // Pools of `dtype` carved from a planned region (the GPU's KV-cache arena).
  KvCache(const KvCacheShape& shape, DeviceArena& arena, DType dtype);

  const KvCacheShape& shape() const { return shape_; }
  Tensor& keys(int64_t layer) { return keys_[layer]; }     // [blocks, block_size, kv_heads, head_dim]
  Tensor& values(int64_t layer) { return values_[layer]; }
  int64_t free_blocks() const { return static_cast<int64_t>(free_.size()); }
  int64_t blocks_for(int64_t tokens) const;

  // Grows `table` to cover `tokens` positions. Returns false, taking nothing, when the
  // pool has too few free blocks.
  bool reserve(BlockTable& table, int64_t tokens);
  // Returns the table's blocks that hold only positions before `position` to the pool,
  // for a sequence whose attention (a sliding window) never reads them again.
  void release_before(BlockTable& table, int64_t position);
  // Returns all of the table's live blocks to the pool.
  void release(BlockTable& table);

 private:
  KvCacheShape shape_;
  std::vector<Tensor> keys_;
  std::vector<Tensor> values_;
  std::vector<int32_t> free_;  // a stack: the most recently freed block is reused first

  template <class Allocate>
  void init(const KvCacheShape& shape, Allocate&& allocate);
};

}  // namespace genrt
