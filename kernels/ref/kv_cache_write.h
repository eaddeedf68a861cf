#pragma once
#include <cstdint>

namespace genrt::ref {

// Copies the keys and values of `tokens` new tokens into their cache slots: token t goes
// to slot slots[t] = block * block_size + offset of the pool (layout as in AttentionArgs,
// seen as [blocks * block_size, row]).
struct KvCacheWriteArgs {
  const float* k = nullptr;        // [tokens, kv_heads, head_dim]
  const float* v = nullptr;        // [tokens, kv_heads, head_dim]
  const int32_t* slots = nullptr;  // [tokens]
  float* k_cache = nullptr;        // [blocks, block_size, kv_heads, head_dim]
  float* v_cache = nullptr;        // [blocks, block_size, kv_heads, head_dim]
  int64_t tokens = 0;
  int64_t row = 0;  // kv_heads * head_dim
};

void kv_cache_write(const KvCacheWriteArgs& args);

}  // namespace genrt::ref
