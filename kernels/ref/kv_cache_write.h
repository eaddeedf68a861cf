#pragma once
#include <cstdint>

namespace genrt::ref {

// Copies the keys and values of `tokens` new positions start, start+1, ... of one sequence
// into its cache blocks (layout as in AttentionArgs).
struct KvCacheWriteArgs {
  const float* k = nullptr;              // [tokens, kv_heads, head_dim]
  const float* v = nullptr;              // [tokens, kv_heads, head_dim]
  const int32_t* block_table = nullptr;  // [ceil((start + tokens) / block_size)]
  float* k_cache = nullptr;              // [blocks, block_size, kv_heads, head_dim]
  float* v_cache = nullptr;              // [blocks, block_size, kv_heads, head_dim]
  int64_t tokens = 0;
  int64_t start = 0;
  int64_t row = 0;  // kv_heads * head_dim
  int64_t block_size = 0;
};

void kv_cache_write(const KvCacheWriteArgs& args);

}  // namespace genrt::ref
