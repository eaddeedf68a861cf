#pragma once
// The paged KV cache: per layer one K and one V pool of fixed-size token blocks, and one
// pool of block ids shared by all layers (block_pool.h: reference counts and the prefix
// cache). A sequence owns a block table; block b of every layer holds the same token
// positions, so one table serves the whole model. Tables may share full blocks of a
// common prefix.

#include <cstdint>
#include <span>
#include <vector>

#include "runtime/core/tensor.h"
#include "runtime/memory/block_pool.h"

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
  // Prefix caching: the keys (block_hash) of the sequence's full blocks hashed so far, and
  // how many leading blocks have been offered to the cache (shared or computed).
  std::vector<uint64_t> hashes;
  int64_t offered = 0;
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
  // Blocks reserve() can take: free ones and cached ones that no table holds.
  int64_t free_blocks() const { return pool_.available(); }
  // Cached blocks that no table holds (counted in free_blocks()).
  int64_t cached_free_blocks() const { return pool_.cached_unreferenced(); }
  int64_t blocks_for(int64_t tokens) const;
  // The most blocks one sequence can ever hold: the pool, less the padding block.
  int64_t usable_blocks() const { return shape_.blocks - (padding_.used > 0 ? 1 : 0); }
  // Sets one block aside from the pool for good (the pool hands out one block fewer from
  // then on), for the padding rows of fixed-size steps (a CUDA graph's batch bucket): they
  // write and read its first slot, which no sequence reads. Fails when no block is free;
  // a second call does nothing. The padding rows of one step all write the same keys and
  // values there (one input row), so their race is benign.
  void set_aside_padding_block();
  // The table of that block; fails unless it was set aside.
  const BlockTable& padding_table() const;
  // Whether `table` is that padding table (a CUDA graph's padding row).
  bool is_padding_table(const BlockTable* table) const { return padding_.used > 0 && table == &padding_; }

  // Grows `table` to cover `tokens` positions, evicting unheld cached blocks when no block
  // is free. Returns false, taking nothing, when the pool has too few.
  bool reserve(BlockTable& table, int64_t tokens);
  // Returns the table's blocks that hold only positions before `position` to the pool,
  // for a sequence whose attention (a sliding window) never reads them again. A block
  // other tables share stays theirs.
  void release_before(BlockTable& table, int64_t position);
  // Returns all of the table's live blocks to the pool (shared ones stay with the others).
  void release(BlockTable& table);

  // Whether the table's blocks that hold positions [begin, end) are its alone and not
  // cached, so that writing their keys and values changes no other sequence's.
  bool writable(const BlockTable& table, int64_t begin, int64_t end) const;

  // Prefix caching. Hashes the full blocks of `tokens` into the empty `table`, starts it
  // with the cached blocks that hold the leading ones, as far as they are found, and
  // returns how many.
  int64_t share_cached_prefix(BlockTable& table, std::span<const int32_t> tokens);
  // Offers the table's full blocks among the first `computed` of `tokens` (their keys and
  // values written) to the cache.
  void cache_computed(BlockTable& table, std::span<const int32_t> tokens, int64_t computed);

 private:
  KvCacheShape shape_;
  std::vector<Tensor> keys_;
  std::vector<Tensor> values_;
  BlockPool pool_;
  BlockTable padding_;  // see padding_table()

  template <class Allocate>
  void init(Allocate&& allocate);
};

}  // namespace genrt
